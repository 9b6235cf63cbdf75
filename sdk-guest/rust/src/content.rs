//! Content blocks, resource contents and annotations (MCP `ContentBlock`,
//! `ResourceContents`, `Annotations`), independent of the generated bindings.

use serde_json::Value;

/// Who a message or an annotated content block is meant for (MCP `Role`;
/// serialized as `"user"` / `"assistant"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The human user.
    User,
    /// The model.
    Assistant,
}

/// Hints about how a client should use a content block or resource (MCP
/// `Annotations`). Every field is optional; start from `Annotations::default()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// The intended audience(s).
    pub audience: Option<Vec<Role>>,
    /// Importance from 0.0 (least) to 1.0 (most).
    pub priority: Option<f64>,
    /// ISO 8601 timestamp of the last modification.
    pub last_modified: Option<String>,
}

/// A pointer to a resource the client may read (MCP `ResourceLink`).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceLink {
    /// The resource's URI.
    pub uri: String,
    /// Its programmatic name.
    pub name: String,
    /// A human-readable title.
    pub title: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// IANA media type, when known.
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Client hints.
    pub annotations: Option<Annotations>,
}

impl ResourceLink {
    /// A link to `uri` called `name`; the other fields start empty.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceLink {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
            annotations: None,
        }
    }

    /// Set the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Set the media type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }
}

/// The body of a resource: UTF-8 text or raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceBody {
    /// UTF-8 text (MCP `TextResourceContents`).
    Text(String),
    /// Raw bytes; the host sends them base64-encoded (MCP
    /// `BlobResourceContents`).
    Blob(Vec<u8>),
}

/// One item of a resource read, or an embedded resource in a content block.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents {
    /// The URI these contents belong to.
    pub uri: String,
    /// IANA media type, when known.
    pub mime_type: Option<String>,
    /// Text or bytes.
    pub body: ResourceBody,
    /// Extra `_meta` (a JSON object), if any.
    pub meta: Option<Value>,
}

impl ResourceContents {
    /// Text contents for `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        ResourceContents {
            uri: uri.into(),
            mime_type: None,
            body: ResourceBody::Text(text.into()),
            meta: None,
        }
    }

    /// Binary contents for `uri`.
    pub fn blob(uri: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        ResourceContents {
            uri: uri.into(),
            mime_type: None,
            body: ResourceBody::Blob(data.into()),
            meta: None,
        }
    }

    /// Set the media type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }
}

/// One block of content in a tool result or prompt message (MCP
/// `ContentBlock`).
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text {
        /// The text.
        text: String,
        /// Client hints.
        annotations: Option<Annotations>,
    },
    /// An image; the host sends the bytes base64-encoded.
    Image {
        /// Raw bytes of the image file.
        data: Vec<u8>,
        /// e.g. `image/png`.
        mime_type: String,
        /// Client hints.
        annotations: Option<Annotations>,
    },
    /// Audio; the host sends the bytes base64-encoded.
    Audio {
        /// Raw bytes of the audio file.
        data: Vec<u8>,
        /// e.g. `audio/wav`.
        mime_type: String,
        /// Client hints.
        annotations: Option<Annotations>,
    },
    /// A link to a resource (MCP `ResourceLink`).
    ResourceLink(ResourceLink),
    /// An embedded resource (MCP `EmbeddedResource`).
    Resource(ResourceContents),
}

impl Content {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        Content::Text {
            text: text.into(),
            annotations: None,
        }
    }

    /// An image block from the raw bytes of an image file.
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Content::Image {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
        }
    }

    /// An audio block from the raw bytes of an audio file.
    pub fn audio(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Content::Audio {
            data: data.into(),
            mime_type: mime_type.into(),
            annotations: None,
        }
    }

    /// A resource-link block pointing at `uri`, called `name`.
    pub fn resource_link(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Content::ResourceLink(ResourceLink::new(uri, name))
    }

    /// An embedded-resource block.
    pub fn resource(contents: ResourceContents) -> Self {
        Content::Resource(contents)
    }

    /// Attach annotations (text, image and audio blocks, resource links;
    /// ignored for embedded resources, whose annotations MCP keeps elsewhere).
    pub fn with_annotations(mut self, value: Annotations) -> Self {
        match &mut self {
            Content::Text { annotations, .. }
            | Content::Image { annotations, .. }
            | Content::Audio { annotations, .. } => *annotations = Some(value),
            Content::ResourceLink(link) => link.annotations = Some(value),
            Content::Resource(_) => {}
        }
        self
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::text(text)
    }
}

impl From<ResourceLink> for Content {
    fn from(link: ResourceLink) -> Self {
        Content::ResourceLink(link)
    }
}

impl From<ResourceContents> for Content {
    fn from(contents: ResourceContents) -> Self {
        Content::Resource(contents)
    }
}
