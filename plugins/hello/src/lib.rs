//! `hello`: the smallest useful Capsule plugin, one tool with structured output.

use capsule_plugin::prelude::*;

/// Arguments of `greet`.
#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet
    name: String,
}

/// Result of `greet`.
#[derive(Serialize, JsonSchema)]
struct Greeting {
    /// The greeting, e.g. `Hello, Ada!`
    greeting: String,
}

fn greet(args: GreetArgs) -> Result<Greeting, ToolError> {
    Ok(Greeting {
        greeting: format!("Hello, {}!", args.name),
    })
}

capsule_plugin::plugin! {
    metadata: Metadata::new("hello", env!("CARGO_PKG_VERSION")).description("Says hello"),
    tools: [
        tool("greet", "Greet someone by name", greet)
            .read_only()
            .idempotent()
            .open_world(false),
    ],
}
