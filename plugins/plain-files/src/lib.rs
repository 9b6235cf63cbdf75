//! `plain_files`: a plain WebAssembly component (it does not export `capsule:plugin`) that lists
//! directories and reads files with `std::fs`, for the filesystem-grant tests of plain components
//! (issue #16, `tests/e2e/test_plain_components.py`). It sees only what the operator's policy
//! mounts; every failure comes back as the `err` of the result, naming the path.

wit_bindgen::generate!({
    path: "wit",
    world: "plain-files",
});

struct PlainFiles;

impl Guest for PlainFiles {
    fn list_directory(path: String) -> Result<Vec<String>, String> {
        let entries = std::fs::read_dir(&path).map_err(|e| format!("cannot list {path}: {e}"))?;
        let mut names = entries
            .map(|entry| {
                entry
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .map_err(|e| format!("cannot list {path}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        Ok(names)
    }

    fn read_file(path: String) -> Result<String, String> {
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

export!(PlainFiles);
