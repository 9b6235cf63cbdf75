//! Values between JSON and the component model ([`Val`]), guided by the WIT type, in the shapes
//! [`super::schema`] describes. Conversion is exact: 64-bit integers keep every digit (serde_json
//! holds them as `i64`/`u64`), `f32` results are printed with the shortest digits that read back
//! as the same `f32`, and `list<u8>` travels as standard padded base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// Where in the arguments a conversion failed, for the error message (`arguments.user.age`).
struct Path {
    parts: Vec<String>,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("arguments")?;
        for part in &self.parts {
            write!(f, ".{part}")?;
        }
        Ok(())
    }
}

/// The arguments object of a call as the function's parameter values, in parameter order.
///
/// # Errors
/// A sentence naming the argument that does not fit its type (what was expected). The host has
/// validated the arguments against the derived schema already, so this only fires on what a
/// schema cannot say.
pub fn params_from_json(args: &Value, params: &[(String, Type)]) -> Result<Vec<Val>, String> {
    let Value::Object(object) = args else {
        return Err("arguments must be a JSON object".into());
    };
    let mut path = Path { parts: Vec::new() };
    let vals = fields_from_json(object, params, &mut path)?;
    if let Some(extra) = object.keys().find(|k| !params.iter().any(|(n, _)| n == *k)) {
        return Err(format!("unknown argument '{extra}'"));
    }
    Ok(vals.into_iter().map(|(_, v)| v).collect())
}

fn fields_from_json(
    object: &Map<String, Value>,
    fields: &[(String, Type)],
    path: &mut Path,
) -> Result<Vec<(String, Val)>, String> {
    let mut vals = Vec::with_capacity(fields.len());
    for (name, ty) in fields {
        path.parts.push(name.clone());
        let value = match (object.get(name), ty) {
            (None | Some(Value::Null), Type::Option(_)) => Val::Option(None),
            (Some(v), Type::Option(o)) => Val::Option(Some(Box::new(from_json(v, &o.ty(), path)?))),
            (None, _) => return Err(format!("{path} is missing")),
            (Some(v), ty) => from_json(v, ty, path)?,
        };
        path.parts.pop();
        vals.push((name.clone(), value));
    }
    Ok(vals)
}

fn int<T: TryFrom<i64> + TryFrom<u64>>(value: &Value, path: &Path) -> Result<T, String> {
    let fits = match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                T::try_from(i).ok()
            } else if let Some(u) = n.as_u64() {
                T::try_from(u).ok()
            } else {
                // JSON Schema counts 3.0 as an integer.
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .and_then(|f| T::try_from(f as i64).ok())
            }
        }
        _ => None,
    };
    fits.ok_or_else(|| format!("{path} must be an integer in the range of its type"))
}

fn from_json(value: &Value, ty: &Type, path: &mut Path) -> Result<Val, String> {
    let expected = |what: &str, path: &Path| format!("{path} must be {what}");
    Ok(match ty {
        Type::Bool => Val::Bool(value.as_bool().ok_or_else(|| expected("a boolean", path))?),
        Type::S8 => Val::S8(int(value, path)?),
        Type::U8 => Val::U8(int(value, path)?),
        Type::S16 => Val::S16(int(value, path)?),
        Type::U16 => Val::U16(int(value, path)?),
        Type::S32 => Val::S32(int(value, path)?),
        Type::U32 => Val::U32(int(value, path)?),
        Type::S64 => Val::S64(int(value, path)?),
        Type::U64 => Val::U64(int(value, path)?),
        Type::Float32 => {
            Val::Float32(value.as_f64().ok_or_else(|| expected("a number", path))? as f32)
        }
        Type::Float64 => Val::Float64(value.as_f64().ok_or_else(|| expected("a number", path))?),
        Type::Char => {
            let s = value.as_str().unwrap_or_default();
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Val::Char(c),
                _ => return Err(expected("a string of exactly one character", path)),
            }
        }
        Type::String => Val::String(
            value
                .as_str()
                .ok_or_else(|| expected("a string", path))?
                .to_owned(),
        ),
        Type::List(l) => match l.ty() {
            Type::U8 => {
                let text = value
                    .as_str()
                    .ok_or_else(|| expected("a base64 string", path))?;
                let bytes = BASE64
                    .decode(text)
                    .map_err(|e| format!("{path} is not valid base64: {e}"))?;
                Val::List(bytes.into_iter().map(Val::U8).collect())
            }
            element => {
                let items = value.as_array().ok_or_else(|| expected("an array", path))?;
                let mut vals = Vec::with_capacity(items.len());
                for item in items {
                    vals.push(from_json(item, &element, path)?);
                }
                Val::List(vals)
            }
        },
        Type::Record(r) => {
            let object = value
                .as_object()
                .ok_or_else(|| expected("an object", path))?;
            let fields: Vec<(String, Type)> =
                r.fields().map(|f| (f.name.to_string(), f.ty)).collect();
            let vals = fields_from_json(object, &fields, path)?;
            if let Some(extra) = object.keys().find(|k| !fields.iter().any(|(n, _)| n == *k)) {
                return Err(format!("{path} has an unknown field '{extra}'"));
            }
            Val::Record(vals)
        }
        Type::Tuple(t) => {
            let items = value.as_array().ok_or_else(|| expected("an array", path))?;
            if items.len() != t.types().len() {
                return Err(expected(
                    &format!("an array of exactly {} items", t.types().len()),
                    path,
                ));
            }
            let mut vals = Vec::with_capacity(items.len());
            for (i, (item, ty)) in items.iter().zip(t.types()).enumerate() {
                path.parts.push(i.to_string());
                vals.push(from_json(item, &ty, path)?);
                path.parts.pop();
            }
            Val::Tuple(vals)
        }
        Type::Variant(v) => {
            let (tag, payload) = tagged(value, path)?;
            let case = v
                .cases()
                .find(|c| c.name == tag)
                .ok_or_else(|| format!("{path}: '{tag}' is not a case of this variant"))?;
            let payload = payload_from_json(payload, case.ty.as_ref(), path)?;
            Val::Variant(case.name.to_string(), payload)
        }
        Type::Enum(e) => {
            let name = value
                .as_str()
                .filter(|s| e.names().any(|n| n == *s))
                .ok_or_else(|| {
                    let names: Vec<&str> = e.names().collect();
                    expected(&format!("one of {}", names.join(", ")), path)
                })?;
            Val::Enum(name.to_owned())
        }
        Type::Flags(f) => {
            let items = value
                .as_array()
                .ok_or_else(|| expected("an array of flag names", path))?;
            let mut set = Vec::with_capacity(items.len());
            for item in items {
                let name = item
                    .as_str()
                    .filter(|s| f.names().any(|n| n == *s))
                    .ok_or_else(|| {
                        let names: Vec<&str> = f.names().collect();
                        expected(&format!("an array of {}", names.join(", ")), path)
                    })?;
                if !set.iter().any(|s| s == name) {
                    set.push(name.to_owned());
                }
            }
            Val::Flags(set)
        }
        Type::Option(o) => match value {
            Value::Null => Val::Option(None),
            v => Val::Option(Some(Box::new(from_json(v, &o.ty(), path)?))),
        },
        Type::Result(r) => {
            let (tag, payload) = tagged(value, path)?;
            match tag {
                "ok" => Val::Result(Ok(payload_from_json(payload, r.ok().as_ref(), path)?)),
                "err" => Val::Result(Err(payload_from_json(payload, r.err().as_ref(), path)?)),
                other => return Err(format!("{path}: tag '{other}' must be 'ok' or 'err'")),
            }
        }
        other => return Err(format!("{path}: the type {other:?} has no JSON form")),
    })
}

/// The `tag` and optional `value` of a tagged object.
fn tagged<'v>(value: &'v Value, path: &Path) -> Result<(&'v str, Option<&'v Value>), String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{path} must be an object {{\"tag\": ..., \"value\": ...}}"))?;
    let tag = object
        .get("tag")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{path} needs a string 'tag'"))?;
    Ok((tag, object.get("value")))
}

fn payload_from_json(
    payload: Option<&Value>,
    ty: Option<&Type>,
    path: &mut Path,
) -> Result<Option<Box<Val>>, String> {
    match (payload, ty) {
        (None, None) => Ok(None),
        (Some(v), Some(ty)) => Ok(Some(Box::new(from_json(v, ty, path)?))),
        (None, Some(_)) => Err(format!("{path} needs a 'value'")),
        (Some(_), None) => Err(format!("{path}: this case takes no 'value'")),
    }
}

/// A value the function returned, as JSON (the shapes of [`super::schema`], output side).
pub fn to_json(val: &Val, ty: &Type) -> Value {
    match (val, ty) {
        (Val::Bool(b), _) => Value::Bool(*b),
        (Val::S8(n), _) => (*n).into(),
        (Val::U8(n), _) => (*n).into(),
        (Val::S16(n), _) => (*n).into(),
        (Val::U16(n), _) => (*n).into(),
        (Val::S32(n), _) => (*n).into(),
        (Val::U32(n), _) => (*n).into(),
        (Val::S64(n), _) => (*n).into(),
        (Val::U64(n), _) => (*n).into(),
        // The shortest decimal that reads back as the same f32, not its f64 widening
        // (0.1f32 is 0.1, not 0.10000000149011612).
        (Val::Float32(f), _) => float(f.to_string().parse().unwrap_or(f64::from(*f))),
        (Val::Float64(f), _) => float(*f),
        (Val::Char(c), _) => Value::String(c.to_string()),
        (Val::String(s), _) => Value::String(s.clone()),
        (Val::List(items), Type::List(l)) => match l.ty() {
            Type::U8 => {
                let bytes: Vec<u8> = items
                    .iter()
                    .map(|v| match v {
                        Val::U8(b) => *b,
                        _ => 0,
                    })
                    .collect();
                Value::String(BASE64.encode(bytes))
            }
            element => Value::Array(items.iter().map(|v| to_json(v, &element)).collect()),
        },
        (Val::Record(fields), Type::Record(r)) => {
            let mut object = Map::new();
            for ((name, v), field) in fields.iter().zip(r.fields()) {
                match (v, &field.ty) {
                    (Val::Option(None), Type::Option(_)) => {}
                    (Val::Option(Some(inner)), Type::Option(o)) => {
                        object.insert(name.clone(), to_json(inner, &o.ty()));
                    }
                    (v, ty) => {
                        object.insert(name.clone(), to_json(v, ty));
                    }
                }
            }
            Value::Object(object)
        }
        (Val::Tuple(items), Type::Tuple(t)) => Value::Array(
            items
                .iter()
                .zip(t.types())
                .map(|(v, ty)| to_json(v, &ty))
                .collect(),
        ),
        (Val::Variant(name, payload), Type::Variant(v)) => {
            let case_ty = v.cases().find(|c| c.name == name).and_then(|c| c.ty);
            tagged_json(name, payload.as_deref(), case_ty.as_ref())
        }
        (Val::Enum(name), _) => Value::String(name.clone()),
        (Val::Flags(names), _) => Value::Array(names.iter().cloned().map(Value::String).collect()),
        (Val::Option(None), _) => Value::Null,
        (Val::Option(Some(inner)), Type::Option(o)) => to_json(inner, &o.ty()),
        (Val::Result(Ok(payload)), Type::Result(r)) => {
            tagged_json("ok", payload.as_deref(), r.ok().as_ref())
        }
        (Val::Result(Err(payload)), Type::Result(r)) => {
            tagged_json("err", payload.as_deref(), r.err().as_ref())
        }
        // Unsupported types are skipped at load, and wasmtime lifts values of the declared
        // type: nothing else reaches here.
        _ => Value::Null,
    }
}

fn tagged_json(tag: &str, payload: Option<&Val>, ty: Option<&Type>) -> Value {
    let mut object = Map::new();
    object.insert("tag".into(), Value::String(tag.to_owned()));
    if let (Some(v), Some(ty)) = (payload, ty) {
        object.insert("value".into(), to_json(v, ty));
    }
    Value::Object(object)
}

fn float(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

/// How an `err` payload (or any value) reads in a tool error's text: a string as it is, an enum
/// case by name, anything else as compact JSON.
pub fn readable(val: Option<&Val>, ty: Option<&Type>) -> String {
    match (val, ty) {
        (Some(Val::String(s)), _) => s.clone(),
        (Some(Val::Enum(name)), _) => name.clone(),
        (Some(v), Some(ty)) => to_json(v, ty).to_string(),
        _ => "the function returned an error (without details)".into(),
    }
}
