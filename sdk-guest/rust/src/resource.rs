//! Resources: static URIs with a read function, and URI templates.

use std::collections::BTreeMap;
use std::ops::Index;

use crate::completion::{self, Completer, Completion, CompletionContext, IntoCompletion};
use crate::content::{Annotations, ResourceContents};
use crate::error::Error;
use crate::uri_template::UriTemplate;

type ReadFn = Box<dyn Fn() -> Result<Vec<ResourceContents>, Error>>;
type TemplateFn = Box<dyn Fn(&Vars) -> Result<Vec<ResourceContents>, Error>>;

/// A concrete resource (MCP `Resource`). Build one with [`resource`] (with a
/// read function) or [`Resource::new`] (listing only: reads of its URI go to
/// the templates).
pub struct Resource {
    pub(crate) uri: String,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) mime_type: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) annotations: Option<Annotations>,
    read: Option<ReadFn>,
}

/// Declare resource `uri`, called `name`, whose contents `read` returns.
///
/// `read` may return a `String` or `&'static str` (text), a `Vec<u8>`
/// (bytes), one [`ResourceContents`] or several; see
/// [`IntoResourceContents`].
///
/// ```
/// use capsule_plugin::prelude::*;
/// let r = resource("config://app", "app", || Ok("debug = false"))
///     .mime_type("text/plain")
///     .description("The app's settings");
/// assert_eq!(r.uri(), "config://app");
/// ```
pub fn resource<R, F>(uri: impl Into<String>, name: impl Into<String>, read: F) -> Resource
where
    R: IntoResourceContents,
    F: Fn() -> Result<R, Error> + 'static,
{
    let mut r = Resource::new(uri, name);
    let uri = r.uri.clone();
    r.read = Some(Box::new(move || Ok(read()?.into_contents(&uri, None))));
    r
}

impl Resource {
    /// A resource to list without a read function of its own: reading its
    /// URI is answered by the first template that matches it.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Resource {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
            read: None,
        }
    }

    /// The URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// Set a human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Set the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Set the media type; read results without one of their own get it.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Set the size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// Set client hints.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Read it, if it has a read function.
    pub(crate) fn read(&self) -> Option<Result<Vec<ResourceContents>, Error>> {
        let read = self.read.as_ref()?;
        Some(read().map(|c| fill_mime(c, self.mime_type.as_deref())))
    }
}

/// A family of resources addressed by an RFC 6570 URI template
/// (MCP `ResourceTemplate`), e.g. `notes://{name}` or `files://{+path}`.
pub struct ResourceTemplate {
    pub(crate) uri_template: String,
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) mime_type: Option<String>,
    pub(crate) annotations: Option<Annotations>,
    parsed: UriTemplate,
    read: TemplateFn,
    completers: Vec<(String, Completer)>,
}

/// Declare a resource template: URIs matching `uri_template` are read by
/// `read`, which gets the template's variables as [`Vars`].
///
/// Matching follows the host's rules ([`crate::uri_template`]): `{var}`
/// covers one or more characters other than `/`, `?` and `#`, `{+var}` one or
/// more of any kind, and values are percent-decoded (`..%2F` becomes `../`),
/// so validate them in `read`.
///
/// ```
/// use capsule_plugin::prelude::*;
/// let t = template("notes://{name}", "note", |vars: &Vars| {
///     Ok(format!("note {}", &vars["name"]))
/// })
/// .mime_type("text/markdown");
/// assert_eq!(t.uri_template(), "notes://{name}");
/// ```
pub fn template<R, F>(
    uri_template: impl Into<String>,
    name: impl Into<String>,
    read: F,
) -> ResourceTemplate
where
    R: IntoResourceContents,
    F: Fn(&Vars) -> Result<R, Error> + 'static,
{
    let uri_template = uri_template.into();
    ResourceTemplate {
        parsed: UriTemplate::parse(&uri_template),
        uri_template,
        name: name.into(),
        title: None,
        description: None,
        mime_type: None,
        annotations: None,
        read: Box::new(move |vars| Ok(read(vars)?.into_contents(&vars.uri, None))),
        completers: Vec::new(),
    }
}

impl ResourceTemplate {
    /// The URI template.
    pub fn uri_template(&self) -> &str {
        &self.uri_template
    }

    /// Set a human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Set the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Set the media type; read results without one of their own get it.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Set client hints.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Suggest values for template variable `variable` while the user types
    /// it (MCP `completion/complete` with a `ref/resource` reference):
    /// `complete` gets the partial value and the variables already filled in,
    /// and returns suggestions (a `Vec<String>`, a `Vec<&str>`, a
    /// [`Completion`], or a `Result` of one). Variables without a completer
    /// get an empty completion.
    ///
    /// ```
    /// use capsule_plugin::prelude::*;
    /// let t = template("notes://{name}", "note", |v: &Vars| Ok(format!("note {}", &v["name"])))
    ///     .completer("name", |partial, _| Completion::matching(["ideas", "todo"], partial));
    /// assert_eq!(t.complete("name", "t", &[]).unwrap().values, ["todo"]);
    /// ```
    pub fn completer<R, F>(mut self, variable: impl Into<String>, complete: F) -> Self
    where
        R: IntoCompletion,
        F: Fn(&str, &CompletionContext) -> R + 'static,
    {
        let variable = variable.into();
        self.completers.retain(|(name, _)| *name != variable);
        self.completers
            .push((variable, completion::completer(complete)));
        self
    }

    /// Complete variable `variable` from the partial `value`, given the
    /// variables already filled in, as `completions.complete` does.
    pub fn complete(
        &self,
        variable: &str,
        value: &str,
        context: &[(String, String)],
    ) -> Result<Completion, Error> {
        let context = CompletionContext::new(context.to_vec());
        completion::run(&self.completers, variable, value, &context)
    }

    /// Read `uri` if it matches.
    pub(crate) fn read(&self, uri: &str) -> Option<Result<Vec<ResourceContents>, Error>> {
        let vars = self.parsed.matches(uri)?;
        let vars = Vars {
            uri: uri.to_string(),
            vars,
        };
        Some((self.read)(&vars).map(|c| fill_mime(c, self.mime_type.as_deref())))
    }
}

fn fill_mime(mut contents: Vec<ResourceContents>, mime: Option<&str>) -> Vec<ResourceContents> {
    if let Some(mime) = mime {
        for c in &mut contents {
            if c.mime_type.is_none() {
                c.mime_type = Some(mime.to_string());
            }
        }
    }
    contents
}

/// The variables of a matched URI template, plus the URI itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    uri: String,
    vars: BTreeMap<String, String>,
}

impl Vars {
    /// The URI being read.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The value of variable `name`, if the template has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// `vars["name"]`: the value of a variable of the template. Panics if the
/// template has no such variable (a bug in the plugin, not bad input: every
/// variable of a matched template is present).
impl Index<&str> for Vars {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.vars.get(name) {
            Some(v) => v,
            None => panic!("URI template has no variable `{name}`"),
        }
    }
}

/// What a resource read function may return inside `Ok(...)`.
pub trait IntoResourceContents {
    /// Turn the value into the contents of `uri`.
    fn into_contents(self, uri: &str, mime_type: Option<&str>) -> Vec<ResourceContents>;
}

impl IntoResourceContents for String {
    fn into_contents(self, uri: &str, mime_type: Option<&str>) -> Vec<ResourceContents> {
        vec![with_mime(ResourceContents::text(uri, self), mime_type)]
    }
}

impl IntoResourceContents for &'static str {
    fn into_contents(self, uri: &str, mime_type: Option<&str>) -> Vec<ResourceContents> {
        vec![with_mime(ResourceContents::text(uri, self), mime_type)]
    }
}

impl IntoResourceContents for Vec<u8> {
    fn into_contents(self, uri: &str, mime_type: Option<&str>) -> Vec<ResourceContents> {
        vec![with_mime(ResourceContents::blob(uri, self), mime_type)]
    }
}

impl IntoResourceContents for ResourceContents {
    fn into_contents(self, _uri: &str, _mime_type: Option<&str>) -> Vec<ResourceContents> {
        vec![self]
    }
}

impl IntoResourceContents for Vec<ResourceContents> {
    fn into_contents(self, _uri: &str, _mime_type: Option<&str>) -> Vec<ResourceContents> {
        self
    }
}

fn with_mime(mut c: ResourceContents, mime: Option<&str>) -> ResourceContents {
    c.mime_type = mime.map(str::to_string);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ResourceBody;

    #[test]
    fn static_resource_reads_with_its_mime_type() {
        let r = resource("cfg://app", "app", || Ok("x = 1")).mime_type("text/plain");
        let c = r.read().expect("has reader").expect("ok");
        assert_eq!(
            c,
            vec![ResourceContents::text("cfg://app", "x = 1").mime_type("text/plain")]
        );
        assert!(Resource::new("a://b", "b").read().is_none());
    }

    #[test]
    fn template_hands_variables_to_the_handler() {
        let t = template("notes://{name}", "note", |v: &Vars| {
            if v["name"].contains('/') {
                return Err(Error::invalid_arguments("bad name"));
            }
            Ok(v.get("name").unwrap_or_default().as_bytes().to_vec())
        })
        .mime_type("application/octet-stream");
        let c = t.read("notes://ab").expect("matches").expect("ok");
        assert_eq!(c[0].uri, "notes://ab");
        assert_eq!(c[0].body, ResourceBody::Blob(b"ab".to_vec()));
        assert_eq!(c[0].mime_type.as_deref(), Some("application/octet-stream"));
        assert!(t.read("other://ab").is_none());
        // `{name}` never covers a '/', but its decoded value may hold one: the handler decides.
        assert!(t.read("notes://a/b").is_none());
        assert_eq!(
            t.read("notes://a%2Fb").expect("matches"),
            Err(Error::InvalidArguments("bad name".into()))
        );
    }
}
