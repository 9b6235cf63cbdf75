// Type-checked only (`tsc -p sdk-guest/js/test/types`, part of `make guest-test-js`): declaring a
// tool's task support from TypeScript. A type error here is a test failure.

import { TASK_SUPPORT, TASK_SUPPORT_KEY, type TaskSupport, tool } from "capsule-plugin";

tool(
  {
    name: "crawl",
    inputSchema: { type: "object", properties: { url: { type: "string" } }, required: ["url"] },
    meta: { ui: { icon: "clock" } },
    taskSupport: "optional",
  },
  ({ url }) => `crawled ${url}`,
);

tool({ name: "index", taskSupport: "required" }, () => "indexed");

const declared: TaskSupport = "forbidden";
tool({ name: "quick", taskSupport: declared }, () => "done");

// @ts-expect-error: not one of the three values
tool({ name: "never", taskSupport: "sometimes" }, () => "x");

export const key: "capsule/taskSupport" = TASK_SUPPORT_KEY;
export const values: readonly TaskSupport[] = TASK_SUPPORT;
