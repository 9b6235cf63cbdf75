//! Percent-decoding (RFC 3986 §2.1), for URI template variables and JSON Pointer fragments.

/// `text` with its `%XX` escapes decoded (RFC 3986 §2.1); a `%` without two hex digits stays.
pub fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_escapes_and_keeps_stray_percent_signs() {
        assert_eq!(decode("a%2Fb%20c"), b"a/b c");
        assert_eq!(decode("100%"), b"100%");
        assert_eq!(decode("%4"), b"%4");
        assert_eq!(decode("%zz%41"), b"%zzA");
    }
}
