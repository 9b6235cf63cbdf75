//! JSON Schemas (draft 2020-12, the MCP default dialect) derived from component-model types, and
//! the check that a type can be carried as JSON at all.
//!
//! The mapping is the README's "Bring any component" table: integers carry their exact ranges,
//! `list<u8>` is a base64 string, `option<T>` parameters and record fields are optional
//! properties (absent or `null` for `none`), records are closed objects, variants and nested results are tagged objects
//! (`{"tag": case, "value": payload}`), enums are string enums and flags arrays of names.
//! Resources, futures, streams, error contexts, maps, fixed-length lists and `option<option<T>>`
//! have no JSON form here: a function using them is skipped ([`unsupported`]).

use serde_json::{Map, Value, json};
use wasmtime::component::types::{Case, Type};

/// Most schema nodes one function's input or output schema may have. WIT types cannot recurse,
/// but a type used twice in a record is spelled out twice, so nesting can grow a schema
/// exponentially; past this size the function is skipped instead.
pub const MAX_SCHEMA_NODES: usize = 2_000;

/// Why a type has no JSON form, as a sentence fragment naming the construct (`None` when it has
/// one).
pub fn unsupported(ty: &Type) -> Option<String> {
    match ty {
        Type::Bool
        | Type::S8
        | Type::U8
        | Type::S16
        | Type::U16
        | Type::S32
        | Type::U32
        | Type::S64
        | Type::U64
        | Type::Float32
        | Type::Float64
        | Type::Char
        | Type::String
        | Type::Enum(_)
        | Type::Flags(_) => None,
        Type::List(l) => unsupported(&l.ty()),
        Type::Record(r) => r.fields().find_map(|f| unsupported(&f.ty)),
        Type::Tuple(t) => t.types().find_map(|t| unsupported(&t)),
        Type::Variant(v) => v.cases().find_map(|c| c.ty.as_ref().and_then(unsupported)),
        Type::Option(o) => match o.ty() {
            Type::Option(_) => Some(
                "uses option<option<T>>, whose `none` and `some(none)` cannot be told apart in JSON"
                    .into(),
            ),
            inner => unsupported(&inner),
        },
        Type::Result(r) => r
            .ok()
            .as_ref()
            .and_then(unsupported)
            .or_else(|| r.err().as_ref().and_then(unsupported)),
        Type::Own(_) | Type::Borrow(_) => {
            Some("uses a resource handle (own/borrow), which has no JSON form".into())
        }
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext => Some(
            "uses a future, stream or error-context (component-model async), which Capsule does \
             not call"
                .into(),
        ),
        Type::Map(_) => Some("uses a map type, which Capsule does not map to JSON yet".into()),
        Type::FixedLengthList(_) => {
            Some("uses a fixed-length list, which Capsule does not map to JSON yet".into())
        }
    }
}

/// Which way a value travels: some shapes differ (non-finite floats only come out).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Input,
    Output,
}

/// Builds schemas while counting nodes against [`MAX_SCHEMA_NODES`].
struct Builder {
    direction: Direction,
    nodes: usize,
}

/// Why no schema can be derived for a type.
#[derive(Debug)]
pub enum Underivable {
    /// It would have more than [`MAX_SCHEMA_NODES`] nodes.
    TooLarge,
    /// The type has no JSON form; the sentence fragment of [`unsupported`] says why.
    Unsupported(String),
}

impl Builder {
    fn node(&mut self) -> Result<(), Underivable> {
        self.nodes += 1;
        if self.nodes > MAX_SCHEMA_NODES {
            return Err(Underivable::TooLarge);
        }
        Ok(())
    }

    /// The schema of one value of `ty` (which [`unsupported`] accepted).
    fn of(&mut self, ty: &Type) -> Result<Value, Underivable> {
        self.node()?;
        Ok(match ty {
            Type::Bool => json!({"type": "boolean"}),
            Type::S8 => integer(i8::MIN, i8::MAX),
            Type::U8 => integer(0, u8::MAX),
            Type::S16 => integer(i16::MIN, i16::MAX),
            Type::U16 => integer(0, u16::MAX),
            Type::S32 => integer(i32::MIN, i32::MAX),
            Type::U32 => integer(0, u32::MAX),
            Type::S64 => integer(i64::MIN, i64::MAX),
            Type::U64 => integer(0, u64::MAX),
            Type::Float32 | Type::Float64 => match self.direction {
                Direction::Input => json!({"type": "number"}),
                // Non-finite values come out as "NaN", "Infinity", "-Infinity".
                Direction::Output => json!({"type": ["number", "string"]}),
            },
            Type::Char => json!({"type": "string", "minLength": 1, "maxLength": 1}),
            Type::String => json!({"type": "string"}),
            Type::List(l) => match l.ty() {
                Type::U8 => json!({"type": "string", "contentEncoding": "base64"}),
                element => json!({"type": "array", "items": self.of(&element)?}),
            },
            Type::Record(r) => {
                let fields: Vec<(String, Type)> =
                    r.fields().map(|f| (f.name.to_string(), f.ty)).collect();
                self.object(&fields)?
            }
            Type::Tuple(t) => {
                let items = t
                    .types()
                    .map(|t| self.of(&t))
                    .collect::<Result<Vec<_>, _>>()?;
                let n = items.len();
                json!({"type": "array", "prefixItems": items, "minItems": n, "maxItems": n,
                       "items": false})
            }
            Type::Variant(v) => {
                let cases = v
                    .cases()
                    .map(|Case { name, ty }| self.tagged(name, ty.as_ref()))
                    .collect::<Result<Vec<_>, _>>()?;
                json!({"oneOf": cases})
            }
            Type::Enum(e) => json!({"type": "string", "enum": e.names().collect::<Vec<_>>()}),
            Type::Flags(f) => json!({
                "type": "array",
                "items": {"type": "string", "enum": f.names().collect::<Vec<_>>()},
                "uniqueItems": true,
            }),
            Type::Option(o) => json!({"anyOf": [self.of(&o.ty())?, {"type": "null"}]}),
            Type::Result(r) => json!({"oneOf": [
                self.tagged("ok", r.ok().as_ref())?,
                self.tagged("err", r.err().as_ref())?,
            ]}),
            Type::Own(_)
            | Type::Borrow(_)
            | Type::Future(_)
            | Type::Stream(_)
            | Type::ErrorContext
            | Type::Map(_)
            | Type::FixedLengthList(_) => {
                return Err(Underivable::Unsupported(
                    unsupported(ty).unwrap_or_else(|| "has no JSON form".into()),
                ));
            }
        })
    }

    /// `{"tag": name}` or `{"tag": name, "value": payload}`.
    fn tagged(&mut self, name: &str, payload: Option<&Type>) -> Result<Value, Underivable> {
        self.node()?;
        let mut properties = Map::new();
        properties.insert("tag".into(), json!({"const": name}));
        let mut required = vec!["tag"];
        if let Some(ty) = payload {
            properties.insert("value".into(), self.of(ty)?);
            required.push("value");
        }
        Ok(
            json!({"type": "object", "properties": properties, "required": required,
                  "additionalProperties": false}),
        )
    }

    /// A closed object with one property per field; `option<T>` fields are optional (left out,
    /// or `null`, for `none`).
    fn object(&mut self, fields: &[(String, Type)]) -> Result<Value, Underivable> {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for (name, ty) in fields {
            if !matches!(ty, Type::Option(_)) {
                required.push(name.clone());
            }
            properties.insert(name.clone(), self.of(ty)?);
        }
        Ok(
            json!({"type": "object", "properties": properties, "required": required,
                  "additionalProperties": false}),
        )
    }
}

/// An integer schema with the type's exact bounds (serde_json keeps `i64::MIN` and `u64::MAX`
/// exactly).
fn integer(minimum: impl Into<Value>, maximum: impl Into<Value>) -> Value {
    json!({"type": "integer", "minimum": minimum.into(), "maximum": maximum.into()})
}

/// The input schema of a function with `params` (name, type): an object with one property per
/// parameter, `option<T>` parameters optional, no other properties.
///
/// # Errors
/// [`Underivable`]: past [`MAX_SCHEMA_NODES`], or a type without a JSON form.
pub fn input_schema(params: &[(String, Type)]) -> Result<Value, Underivable> {
    Builder {
        direction: Direction::Input,
        nodes: 0,
    }
    .object(params)
}

/// The output schema of a function whose (ok) result is `result`: `{"result": S(result)}`, since
/// MCP structured content is an object.
///
/// # Errors
/// [`Underivable`]: past [`MAX_SCHEMA_NODES`], or a type without a JSON form.
pub fn output_schema(result: &Type) -> Result<Value, Underivable> {
    let mut builder = Builder {
        direction: Direction::Output,
        nodes: 0,
    };
    let schema = builder.of(result)?;
    Ok(
        json!({"type": "object", "properties": {"result": schema}, "required": ["result"],
              "additionalProperties": false}),
    )
}
