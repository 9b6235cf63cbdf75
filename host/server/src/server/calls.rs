//! The requests that run plugins: tool calls, prompt gets and resource reads (with their
//! input-required rounds, [`crate::mrtr`]) and completions.

use std::time::Instant;

use rmcp::ErrorData as McpError;
use rmcp::model::*;
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Value, json};

use super::audit::Audit;
use super::task_calls::TaskCall;
use super::task_mode::{TaskMode, task_mode};
use super::tool_rounds::{Ended, call_round, end_of_call};
use super::{CapsuleServer, rate_limited, request_error, tool_error};
use crate::catalog::{Catalog, ResolveError};
use crate::convert;
use crate::mrtr;
use crate::request_state::Binding;
use capsule_auth::Caller;
use capsule_auth::scopes::Target;
use capsule_common::codes::FORBIDDEN;
use capsule_sandbox::runtime::CallError;
use capsule_sandbox::runtime::bindings::{completions, prompts, tools, types};
use capsule_telemetry::metrics::{self, Outcome};
use capsule_telemetry::trace::{self, KeyValue};

impl CapsuleServer {
    pub(super) async fn run_tool(
        &self,
        mut request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
        subject: &str,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = Value::Object(request.arguments.take().unwrap_or_default());
        let name = request.name.as_ref();
        let catalog = self.catalog();
        let Some(entry) = catalog.tool(name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool '{name}'; tools/list shows the available tools"),
                Some(json!({ "tool": name })),
            ));
        };
        let mode = task_mode(name, entry.task_support, &ctx)?;
        let deadline = Instant::now() + entry.plugin.grants().limits.call_timeout;
        let slot = entry.plugin.validation_slot();
        let validating = trace::child("validate arguments", || {
            vec![KeyValue::new("gen_ai.tool.name", name.to_string())]
        });
        let arguments = match entry.input.check(arguments, deadline, slot).await {
            Ok(arguments) => arguments.to_string(),
            Err(error) => {
                validating.fail("invalid_arguments");
                let refused = tool_error(format!("invalid arguments for tool '{name}': {error}"));
                if let TaskMode::Task2025(request) = mode {
                    // A task that ended at once, as the call would have.
                    let call = TaskCall::new(&catalog, name, String::new());
                    return self.run_as_task_2025(call, request, &ctx, subject, Some(refused));
                }
                return Ok(refused.into());
            }
        };
        drop(validating);
        let plugin = entry.plugin.name();
        let binding = Binding {
            method: "tools/call",
            name,
            subject,
        };
        let states = self.shared.request_states();
        let mut resume = mrtr::resumption(
            states,
            &binding,
            request.input_responses.as_ref(),
            request.request_state.as_deref(),
        )?;
        match mode {
            TaskMode::Task2025(request) => {
                let call = TaskCall::new(&catalog, name, arguments);
                return self.run_as_task_2025(call, request, &ctx, subject, None);
            }
            TaskMode::Task => {
                let call = TaskCall::new(&catalog, name, arguments);
                return self.run_as_task(call, resume, &ctx, &binding).await;
            }
            TaskMode::Request => {}
        }
        let mut rounds = 0;
        let outcome = loop {
            let outcome =
                call_round(entry, name, self.scope(&ctx), &arguments, resume.take()).await;
            let asked = match outcome {
                Ok(tools::CallOutcome::InputRequired(asked)) => asked,
                Ok(tools::CallOutcome::Complete(result)) => break Ok(result),
                Err(error) => break Err(error),
            };
            rounds += 1;
            match self
                .next_round(&ctx, &binding, plugin, asked, rounds)
                .await?
            {
                Round::Answer(result) => return Ok(CallToolResponse::InputRequired(result)),
                Round::Failed(message) => {
                    return Ok(tool_error(format!("tool '{name}' failed: {message}")).into());
                }
                Round::Again(next) => resume = Some(next),
            }
        };
        match end_of_call(entry, name, outcome).await {
            Ended::Done(result) => Ok(result.into()),
            Ended::Cancelled => Err(McpError::internal_error("request cancelled", None)),
            Ended::Crashed(message) | Ended::TimedOut(message) => Ok(tool_error(message).into()),
        }
    }

    /// A plugin answered `input-required` (round `rounds` of a request): what to do next, under
    /// an `input required` span (attribute `capsule.input_required.round`, 1 for the first). In
    /// 2026-07-28 the answer is an `InputRequiredResult` for the client to act on; in 2025-11-25
    /// the host asks the client itself and returns the resumption for the plugin's next round.
    ///
    /// # Errors
    /// `-32021` when a 2026-07-28 client did not declare a capability the requests need.
    pub(super) async fn next_round(
        &self,
        ctx: &RequestContext<RoleServer>,
        binding: &Binding<'_>,
        plugin: &str,
        asked: types::InputRequired,
        rounds: usize,
    ) -> Result<Round, McpError> {
        let span = trace::child("input required", || {
            let round = i64::try_from(rounds).unwrap_or(i64::MAX);
            vec![KeyValue::new("capsule.input_required.round", round)]
        });
        let round = async {
            if let Err(message) = mrtr::check(&asked) {
                tracing::error!(plugin, name = binding.name, "bad input-required: {message}");
                return Ok(Round::Failed(format!("the plugin {message}")));
            }
            let stateless = ctx
                .protocol_version()
                .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
            let declared = ctx.client_capabilities();
            if let Some(missing) = mrtr::missing_capabilities(&asked, declared.as_ref()) {
                if stateless {
                    return Err(McpError::missing_required_client_capability(missing));
                }
                return Ok(Round::Failed(format!(
                    "it needs the client capabilities {} (elicitation, sampling or roots), which this \
                     client did not declare in initialize",
                    mrtr::capability_names(&missing)
                )));
            }
            if stateless {
                let states = self.shared.request_states();
                return match mrtr::input_required_result(states, binding, &asked) {
                    Ok(result) => Ok(Round::Answer(result)),
                    Err(message) => {
                        tracing::error!(plugin, name = binding.name, "bad input-required: {message}");
                        Ok(Round::Failed(format!("the plugin's {message}")))
                    }
                };
            }
            if rounds > mrtr::MAX_ROUNDS {
                return Ok(Round::Failed(format!(
                    "the plugin asked the client for input more than {} times",
                    mrtr::MAX_ROUNDS
                )));
            }
            match mrtr::ask_client(&ctx.peer, &asked, &ctx.ct).await {
                Ok(responses) => Ok(Round::Again(types::Resumption {
                    responses,
                    state: asked.state,
                })),
                Err(error) => Ok(Round::Failed(error.to_string())),
            }
        }
        .await;
        match &round {
            Err(e) => span.fail(&e.code.0.to_string()),
            Ok(Round::Failed(_)) => span.fail("input_required_failed"),
            Ok(_) => {}
        }
        round
    }
}

/// What [`CapsuleServer::next_round`] decided.
pub(super) enum Round {
    /// 2026-07-28: answer the client with this result.
    Answer(InputRequiredResult),
    /// 2025-11-25: the client answered; call the plugin again with this.
    Again(types::Resumption),
    /// The request cannot go on: this message, as a tool error or request error.
    Failed(String),
}

impl CapsuleServer {
    pub(super) async fn read_checked(
        &self,
        catalog: &Catalog,
        uri: &str,
        caller: &Caller,
        audit: &mut Audit,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResult, McpError> {
        let plugin = catalog.resource_owner(uri).map_err(|e| match e {
            ResolveError::NotFound(_) => {
                McpError::resource_not_found(e.to_string(), Some(json!({ "uri": uri })))
            }
            ResolveError::Ambiguous { .. } => McpError::internal_error(e.to_string(), None),
            ResolveError::TooLong(_) => McpError::invalid_params(e.to_string(), None),
        })?;
        audit.op.plugin = Some(plugin.name().to_string());
        audit.set(|r| r.plugin = Some(plugin.name().to_string()));
        self.authorize(
            caller,
            Target::Resource {
                plugin: plugin.name(),
                uri,
            },
            audit,
        )?;
        self.rate_limit(caller, None, audit).map_err(rate_limited)?;
        let what = format!("resource '{uri}'");
        let started = Instant::now();
        let contents = self
            .shared
            .in_flight()
            .track(plugin.read_resource(self.scope(&ctx), uri))
            .await;
        let measured = contents
            .as_ref()
            .err()
            .map_or(Outcome::Ok, CallError::outcome);
        metrics::plugin_call(plugin.name(), None, measured, started.elapsed());
        let contents = contents.map_err(|e| match e {
            CallError::Plugin(types::Error::NotFound(m)) => McpError::resource_not_found(
                format!("{what} not found: {m}"),
                Some(json!({ "uri": uri })),
            ),
            other => request_error(plugin.name(), &what, other),
        })?;
        convert::read_resource_result(&contents).map_err(|m| {
            tracing::error!(plugin = plugin.name(), "malformed resource contents: {m}");
            McpError::internal_error(
                format!("{what}: the plugin returned malformed contents: {m}"),
                None,
            )
        })
    }

    pub(super) async fn get_checked(
        &self,
        catalog: &Catalog,
        request: &GetPromptRequestParams,
        caller: &Caller,
        audit: &mut Audit,
        ctx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let name = request.name.as_str();
        let Some(entry) = catalog.prompt(name) else {
            return Err(McpError::invalid_params(
                format!("unknown prompt '{name}'; prompts/list shows the available prompts"),
                Some(json!({ "prompt": name })),
            ));
        };
        audit.op.plugin = Some(entry.plugin.name().to_string());
        audit.set(|r| r.plugin = Some(entry.plugin.name().to_string()));
        self.authorize(
            caller,
            Target::Prompt {
                plugin: entry.plugin.name(),
                name,
            },
            audit,
        )?;
        self.rate_limit(caller, None, audit).map_err(rate_limited)?;
        let mut arguments = Vec::new();
        for (key, value) in request.arguments.iter().flatten() {
            let Value::String(value) = value else {
                return Err(McpError::invalid_params(
                    format!("prompt '{name}': argument '{key}' must be a string"),
                    None,
                ));
            };
            arguments.push((key.clone(), value.clone()));
        }
        if let Some(missing) = entry
            .required
            .iter()
            .find(|r| !arguments.iter().any(|(k, _)| k == *r))
        {
            return Err(McpError::invalid_params(
                format!("prompt '{name}': missing required argument '{missing}'"),
                None,
            ));
        }
        let what = format!("prompt '{name}'");
        let plugin = entry.plugin.name();
        let binding = Binding {
            method: "prompts/get",
            name,
            subject: caller.subject(),
        };
        let mut resume = mrtr::resumption(
            self.shared.request_states(),
            &binding,
            request.input_responses.as_ref(),
            request.request_state.as_deref(),
        )?;
        let mut rounds = 0;
        let result = loop {
            let started = Instant::now();
            let outcome = self
                .shared
                .in_flight()
                .track(entry.plugin.get_prompt(
                    self.scope(&ctx),
                    &entry.name,
                    &arguments,
                    resume.take(),
                ))
                .await;
            let measured = outcome
                .as_ref()
                .err()
                .map_or(Outcome::Ok, CallError::outcome);
            metrics::plugin_call(plugin, None, measured, started.elapsed());
            let outcome = outcome.map_err(|e| request_error(plugin, &what, e))?;
            let asked = match outcome {
                prompts::PromptOutcome::Complete(result) => break result,
                prompts::PromptOutcome::InputRequired(asked) => asked,
            };
            rounds += 1;
            match self
                .next_round(&ctx, &binding, plugin, asked, rounds)
                .await?
            {
                Round::Answer(result) => return Ok(GetPromptResponse::InputRequired(result)),
                Round::Failed(message) => {
                    return Err(McpError::invalid_request(
                        format!("{what}: {message}"),
                        None,
                    ));
                }
                Round::Again(next) => resume = Some(next),
            }
        };
        convert::get_prompt_result(&result)
            .map(GetPromptResponse::from)
            .map_err(|m| {
                tracing::error!(plugin, "malformed prompt result: {m}");
                McpError::internal_error(
                    format!("{what}: the plugin returned a malformed result: {m}"),
                    None,
                )
            })
    }

    /// `completion/complete`: ask the plugin that owns the prompt or resource template.
    pub(super) async fn complete_checked(
        &self,
        request: CompleteRequestParams,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let catalog = self.catalog();
        let caller = self.caller(ctx);
        let (plugin, reference, target) = match &request.r#ref {
            Reference::Prompt(p) => {
                let Some(entry) = catalog.prompt(&p.name) else {
                    return Err(McpError::invalid_params(
                        format!(
                            "unknown prompt '{}'; prompts/list shows the available prompts",
                            p.name
                        ),
                        Some(json!({ "prompt": p.name })),
                    ));
                };
                let target = Target::Prompt {
                    plugin: entry.plugin.name(),
                    name: &p.name,
                };
                let reference = completions::CompletionReference::Prompt(entry.name.clone());
                (entry.plugin.clone(), reference, target)
            }
            Reference::Resource(r) => {
                let Some(entry) = catalog.template(&r.uri) else {
                    return Err(McpError::invalid_params(
                        format!(
                            "unknown resource template '{}'; resources/templates/list shows them",
                            r.uri
                        ),
                        Some(json!({ "uri": r.uri })),
                    ));
                };
                let target = Target::Resource {
                    plugin: entry.plugin.name(),
                    uri: &r.uri,
                };
                let reference = completions::CompletionReference::ResourceTemplate(r.uri.clone());
                (entry.plugin.clone(), reference, target)
            }
            _ => {
                return Err(McpError::invalid_params(
                    "completion/complete: ref must be ref/prompt or ref/resource",
                    None,
                ));
            }
        };
        if !self.allows(&caller, target) {
            return Err(McpError::new(
                ErrorCode(FORBIDDEN),
                "insufficient_scope: no scope of this caller covers the completion's target",
                None,
            ));
        }
        if !plugin.exports().completions {
            // Nothing to suggest: the plugin has no completions (e.g. built for 0.1.0).
            return Ok(CompleteResult::default());
        }
        let context: Vec<(String, String)> = request
            .context
            .as_ref()
            .and_then(|c| c.arguments.as_ref())
            .map(|args| args.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let argument = &request.argument;
        let what = format!("completion of '{}'", argument.name);
        let completion = self
            .shared
            .in_flight()
            .track(plugin.complete(
                self.scope(ctx),
                &reference,
                &argument.name,
                &argument.value,
                &context,
            ))
            .await
            .map_err(|e| request_error(plugin.name(), &what, e))?;
        let mut values = completion.values;
        let mut has_more = completion.has_more;
        if values.len() > CompletionInfo::MAX_VALUES {
            values.truncate(CompletionInfo::MAX_VALUES);
            has_more = true;
        }
        let info = CompletionInfo::with_pagination(values, completion.total, has_more)
            .map_err(|m| McpError::internal_error(format!("{what}: {m}"), None))?;
        Ok(CompleteResult::new(info))
    }
}
