//! The arguments of a wasmcp call as [`Val`]s: the `message-context` and the request records.
//!
//! Records are built from the component's own types (field names and order as its WIT declares
//! them), so a value always has exactly the fields the component expects: each field is given a
//! value by name, and a field the host has no value for is `none` when it is an `option` (an error
//! otherwise). The shapes are those of `wasmcp:mcp-v20251125@0.1.x`:
//!
//! - `message-context { client-stream: option<borrow<output-stream>>, protocol-version: string,
//!   session: option<session>, identity: option<identity>, frame: message-frame { prefix:
//!   list<u8>, suffix: list<u8> }, http-context: option<http-context> }`;
//! - `list-*-request { cursor: option<cursor> }`, `call-tool-request { name: string, arguments:
//!   option<json> }`, `read-resource-request { uri: uri }`, `get-prompt-request { name: string,
//!   arguments: option<json> }`.

use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// The `message-context` for a function whose first parameter has type `ty`: protocol version
/// `protocol_version`, an empty `frame`, and `none` for the client stream, the session, the
/// identity and the HTTP context.
///
/// # Errors
/// `ty` is not a record, or has a field that is neither an `option` nor one of
/// `protocol-version` and `frame` (a component not built for the wasmcp shape).
pub fn context(ty: &Type, protocol_version: &str) -> Result<Val, String> {
    record(ty, "message-context", |field, ty| match field {
        "protocol-version" => Ok(Some(Val::String(protocol_version.into()))),
        "frame" => empty(ty).map(Some),
        _ => Ok(None),
    })
}

/// A request record of type `ty` (`what` names it in errors) with `fields` by name; a value for
/// an `option` field is the value inside the `some`. Fields not given are `none`.
///
/// # Errors
/// `ty` is not a record, a given field is not in it, or a field it requires is not given.
pub fn request(ty: &Type, what: &str, fields: Vec<(&str, Val)>) -> Result<Val, String> {
    let Type::Record(r) = ty else {
        return Err(format!("{what} is not a record"));
    };
    if let Some((unknown, _)) = fields
        .iter()
        .find(|(name, _)| !r.fields().any(|f| f.name == *name))
    {
        return Err(format!("{what} has no field `{unknown}`"));
    }
    let mut fields = fields;
    record(ty, what, |field, _| {
        Ok(fields
            .iter()
            .position(|(name, _)| *name == field)
            .map(|i| fields.swap_remove(i).1))
    })
}

/// The record `ty` with each field's value from `fill` (`None`: leave it out, which is `none`
/// for an option). Values given for option fields are wrapped in `some`.
fn record(
    ty: &Type,
    what: &str,
    mut fill: impl FnMut(&str, &Type) -> Result<Option<Val>, String>,
) -> Result<Val, String> {
    let Type::Record(r) = ty else {
        return Err(format!("{what} is not a record"));
    };
    let mut fields = Vec::new();
    for field in r.fields() {
        let value = match (fill(field.name, &field.ty)?, &field.ty) {
            (Some(Val::Option(o)), Type::Option(_)) => Val::Option(o),
            (Some(v), Type::Option(_)) => Val::Option(Some(Box::new(v))),
            (Some(v), _) => v,
            (None, Type::Option(_)) => Val::Option(None),
            (None, _) => {
                return Err(format!(
                    "{what} has a field `{}` Capsule has no value for",
                    field.name
                ));
            }
        };
        fields.push((field.name.to_string(), value));
    }
    Ok(Val::Record(fields))
}

/// The empty value of `ty`: `""`, `[]`, `none`, or a record of empty fields (`message-frame`).
fn empty(ty: &Type) -> Result<Val, String> {
    Ok(match ty {
        Type::String => Val::String(String::new()),
        Type::List(_) => Val::List(Vec::new()),
        Type::Option(_) => Val::Option(None),
        Type::Record(_) => record(ty, "message-frame", |_, ty| empty(ty).map(Some))?,
        other => return Err(format!("no empty value of type {other:?}")),
    })
}
