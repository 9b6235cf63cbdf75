// What Capsule's e2e task clients (tasks_client.mjs, tasks_client_2025.mjs) print: they settle one
// ext-tasks execution and report it as one JSON line.
import { resultFromTaskOutcome } from "@modelcontextprotocol/ext-tasks/client";

/**
 * Settle `execution` (a task, or an immediate result) and print one JSON object: {"kind":
 * "task"|"immediate", "taskId", "statuses": [task statuses seen, in order], "outcome":
 * "completed"|"failed"|"cancelled", "result": the tool result (or null), "asked": `asked`, ...extra}.
 * `onTask` sees every task snapshot the library observes. Returns the outcome.
 */
export async function settleAndReport(execution, asked, extra = {}, onTask = () => {}) {
  const statuses = [];
  const { outcome } = await execution.settle({
    onEvent: (event) => {
      if (event.type !== "task") return;
      if (statuses.at(-1) !== event.task.status) statuses.push(event.task.status);
      onTask(event.task);
    },
  });
  console.log(
    JSON.stringify({
      kind: execution.kind,
      taskId: execution.handle?.taskId ?? null,
      statuses,
      outcome: outcome.status,
      result: outcome.status === "completed" ? resultFromTaskOutcome(outcome) : null,
      asked,
      ...extra,
    }),
  );
  return outcome;
}
