//! `legacy` — a plugin written against the frozen `capsule:plugin@0.1.0` contract
//! (`wit/0.1.0/plugin.wit`) with the raw wit-bindgen bindings, no SDK. The host must keep serving
//! plugins built before 0.2.0 unchanged: this one exports tools, a resource and a prompt of 0.1.0,
//! logs and reports progress through the 0.1.0 host interface, and fails with each typed error.

wit_bindgen::generate!({
    path: "../../wit/0.1.0",
    world: "full-plugin",
});

use capsule::plugin::host;
use capsule::plugin::types::{
    ContentBlock, Error, LogLevel, ResourceBody, ResourceContents, Role, TextContent,
};
use exports::capsule::plugin::{plugin, prompts, resources, tools};

struct Legacy;

fn text(text: String) -> ContentBlock {
    ContentBlock::Text(TextContent {
        text,
        annotations: None,
    })
}

impl plugin::Guest for Legacy {
    fn describe() -> plugin::Metadata {
        plugin::Metadata {
            name: "legacy".into(),
            version: "0.1.0".into(),
            description: Some("Built on capsule:plugin@0.1.0".into()),
            requests: plugin::CapabilityRequests {
                filesystem: vec![],
                network: vec![],
                env: vec![],
            },
        }
    }
}

impl tools::Guest for Legacy {
    fn list_tools() -> Vec<tools::Tool> {
        vec![tools::Tool {
            name: "shout".into(),
            title: None,
            description: Some("Upper-case `text`; `fail` picks a typed error instead".into()),
            // Portable (issue #21): closed, every property required, the optional `fail`
            // nullable (null = not given). Properties in key order, as hosts re-serialize them.
            input_schema: concat!(
                r#"{"type":"object","properties":{"#,
                r#""fail":{"anyOf":[{"type":"string","enum":["invalid","denied"]},{"type":"null"}],"#,
                r#""description":"Fail with this typed error instead; null to shout"},"#,
                r#""text":{"type":"string","description":"The text to upper-case"}},"#,
                r#""required":["fail","text"],"additionalProperties":false}"#
            )
            .into(),
            output_schema: None,
            annotations: None,
            meta: None,
        }]
    }

    fn call_tool(name: String, arguments: String) -> Result<tools::CallOutcome, Error> {
        if name != "shout" {
            return Err(Error::NotFound(format!("no tool {name}")));
        }
        // The arguments passed the schema; a tiny scan keeps this plugin free of serde.
        match fail(&arguments) {
            Some("invalid") => return Err(Error::InvalidArguments("you asked for invalid".into())),
            Some("denied") => return Err(Error::Denied("you asked for denied".into())),
            _ => {}
        }
        let start = arguments.find(r#""text":""#).map(|i| i + 8).unwrap_or(0);
        let end = arguments[start..].find('"').map_or(start, |e| start + e);
        host::log(LogLevel::Info, "shouting");
        host::progress(1.0, Some(1.0), None);
        Ok(tools::CallOutcome::Complete(tools::CallToolResult {
            content: vec![text(arguments[start..end].to_uppercase())],
            structured_content: None,
            is_error: false,
            meta: None,
        }))
    }
}

/// The string value of `fail` in the (compact JSON) arguments; `None` when it is left out or
/// `null`, which means "not given".
fn fail(arguments: &str) -> Option<&str> {
    let rest = &arguments[arguments.find(r#""fail":"#)? + 7..];
    let value = rest.strip_prefix('"')?;
    value.find('"').map(|end| &value[..end])
}

impl resources::Guest for Legacy {
    fn list_resources() -> Vec<resources::Resource> {
        vec![resources::Resource {
            uri: "legacy://motto".into(),
            name: "motto".into(),
            title: None,
            description: None,
            mime_type: Some("text/plain".into()),
            size: None,
            annotations: None,
        }]
    }

    fn list_resource_templates() -> Vec<resources::ResourceTemplate> {
        vec![]
    }

    fn read_resource(uri: String) -> Result<Vec<ResourceContents>, Error> {
        if uri != "legacy://motto" {
            return Err(Error::NotFound(uri));
        }
        Ok(vec![ResourceContents {
            uri,
            mime_type: Some("text/plain".into()),
            body: ResourceBody::Text("old but gold".into()),
            meta: None,
        }])
    }
}

impl prompts::Guest for Legacy {
    fn list_prompts() -> Vec<prompts::Prompt> {
        vec![prompts::Prompt {
            name: "recall".into(),
            title: None,
            description: None,
            arguments: vec![prompts::PromptArgument {
                name: "topic".into(),
                title: None,
                description: None,
                required: true,
            }],
        }]
    }

    fn get_prompt(
        _name: String,
        arguments: Vec<(String, String)>,
    ) -> Result<prompts::GetPromptResult, Error> {
        let topic = arguments
            .iter()
            .find(|(k, _)| k == "topic")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        Ok(prompts::GetPromptResult {
            description: None,
            messages: vec![prompts::PromptMessage {
                role: Role::User,
                content: text(format!("Tell me about {topic}, as in 0.1.0.")),
            }],
        })
    }
}

export!(Legacy);
