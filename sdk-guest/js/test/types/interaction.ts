// Type-checked only (`tsc -p sdk-guest/js/test/types`, part of `make guest-test-js`): the 0.2.0 API
// as a TypeScript plugin uses it. A type error here is a test failure.

import {
  type Completion,
  type InputRequired,
  clientCapabilities,
  completion,
  dispatch,
  elicit,
  inputRequired,
  listRoots,
  portableInputSchema,
  prompt,
  resourceUpdated,
  sample,
  tool,
  toolError,
  user,
} from "capsule-plugin";

tool(
  {
    name: "book",
    inputSchema: { type: "object", properties: { seats: { type: "integer" } }, required: ["seats"] },
    outputSchema: { type: "object", properties: { who: { type: "string" }, seats: { type: "integer" } }, required: ["who", "seats"] },
  },
  ({ seats }, resume) => {
    if (!resume) {
      if (!clientCapabilities().elicitation) return toolError("this client cannot ask the user");
      return inputRequired(elicit("who", "Who?", { type: "object", properties: { name: { type: "string" } }, required: ["name"] }), { seats });
    }
    const who = resume.elicited<{ name: string }>("who");
    if (!who) return toolError(`not booked (${resume.action("who") ?? "no answer"})`);
    resourceUpdated("bookings://today");
    return { who: who.name, seats: resume.stateJson<{ seats: number }>()?.seats ?? seats };
  },
);

tool({ name: "survey" }, (_args, resume): string | InputRequired => {
  if (!resume) return inputRequired([listRoots("roots"), sample("title", [user("Name this project")], { maxTokens: 20 })]);
  return `${resume.sampledText("title") ?? "?"}: ${(resume.roots("roots") ?? []).map((r) => r.name ?? r.uri).join(", ")}`;
});

prompt({ name: "review", arguments: [{ name: "topic", required: true }] }, ({ topic }, resume) =>
  resume ? `Review ${topic}; state ${resume.stateText()}` : inputRequired(listRoots("roots"), "step 1"),
);

completion({ prompt: "review", argument: "topic" }, (value, context): string[] => [value, context.other ?? ""]);
completion({ template: "x://{v}", argument: "v" }, (): Completion => ({ values: ["a"], total: 1, hasMore: false }));

export async function check(): Promise<number> {
  const c = await dispatch.complete({ prompt: "review" }, "topic", "t", { other: "x" });
  const out = await dispatch.callTool("book", { seats: 1 }, { responses: { who: { action: "accept", content: { name: "A" } } } });
  return c.values.length + ("requests" in out ? out.requests.length : out.content.length);
}

// An optional property with a default: the handler's type is what the author wrote (`level` may be
// undefined, never null); the published schema is the portable one.
tool(
  {
    name: "levels",
    inputSchema: {
      type: "object",
      properties: { text: { type: "string" }, level: { type: "integer", default: 6 } },
      required: ["text"],
    },
  },
  ({ text, level }) => `${text.length + (level ?? 6)}`,
);
export const published: string[] = portableInputSchema({ type: "object" }).notPortable;
