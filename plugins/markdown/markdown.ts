// markdown: outline, render and review Markdown — a Capsule plugin in TypeScript.
//
// Tools work on Markdown passed inline (`outline`, `render`, `section`) or on a file in the guest
// folder /docs (`outline_file`); `describe` asks the user what matters to them in a document
// (elicitation) and, when the client can sample, has the client's model describe it. Every .md file
// in /docs is a resource (`markdown://{name}`), and the `review` prompt hands a document and its
// outline to the model. Document names complete (the
// prompt's `name`, the template's `{name}`) from /docs. /docs exists only when the operator grants
// it (`capsule serve --fs markdown:/docs=DIR:ro`).
//
// Build: sdk-guest/js/bin/capsule-js.mjs build plugins/markdown/markdown.ts -o target/plugins/markdown.wasm

import {
  InvalidArguments,
  clientCapabilities,
  completion,
  elicit,
  embeddedResource,
  fs,
  inputRequired,
  plugin,
  prompt,
  resourceList,
  resourceTemplate,
  sample,
  tool,
  user,
} from "capsule-plugin";

const DOCS = "/docs";

plugin({
  name: "markdown",
  version: "0.1.0",
  description: "Outline, render and review Markdown documents",
  filesystem: [{ path: DOCS, access: "read-only", reason: "reads the Markdown documents it outlines and serves" }],
});

// ------------------------------------------------------------------------------------------------
// tools

const headingSchema = {
  type: "object",
  properties: {
    level: { type: "integer", description: "1 for #, 2 for ##, ..." },
    text: { type: "string", description: "The heading's text, without markup" },
    line: { type: "integer", description: "1-based line number" },
    anchor: { type: "string", description: "The GitHub-style anchor, e.g. `granting-files`" },
  },
  required: ["level", "text", "line", "anchor"],
} as const;

const outlineSchema = {
  type: "object",
  properties: { headings: { type: "array", items: headingSchema } },
  required: ["headings"],
} as const;

tool(
  {
    name: "outline",
    description: "The headings of a Markdown document, in order, with their levels, line numbers and anchors",
    inputSchema: {
      type: "object",
      properties: {
        markdown: { type: "string", description: "The document" },
        // Optional: published as nullable and required ("Default: 6." joins the description); the
        // SDK turns a null back into "not given" before the handler runs.
        max_level: { type: "integer", minimum: 1, maximum: 6, default: 6, description: "Deepest heading level to list" },
      },
      required: ["markdown"],
    },
    outputSchema: outlineSchema,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  ({ markdown, max_level }) => ({ headings: outline(markdown, max_level ?? 6) }),
);

tool(
  {
    name: "render",
    description: "Render Markdown (CommonMark basics: headings, lists, quotes, code, emphasis, links) to HTML",
    inputSchema: {
      type: "object",
      properties: { markdown: { type: "string", description: "The document" } },
      required: ["markdown"],
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  ({ markdown }) => render(markdown),
);

tool(
  {
    name: "section",
    description: "The text of one section: from a heading to the next heading of the same or a higher level",
    inputSchema: {
      type: "object",
      properties: {
        markdown: { type: "string", description: "The document" },
        heading: { type: "string", description: "The section's heading text (case-insensitive) or anchor" },
      },
      required: ["markdown", "heading"],
    },
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  },
  ({ markdown, heading }) => section(markdown, heading),
);

tool(
  {
    name: "outline_file",
    description: "The outline (see `outline`) of a Markdown file in the docs folder",
    inputSchema: {
      type: "object",
      properties: { path: { type: "string", description: "The file, relative to /docs (e.g. `guide.md`)" } },
      required: ["path"],
    },
    outputSchema: outlineSchema,
    annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    // A long document takes a while: a client that supports MCP tasks may get this call as a task.
    taskSupport: "optional",
  },
  // The path goes straight to the sandbox, which refuses anything outside the grant.
  ({ path }) => ({ headings: outline(fs.readText(path.startsWith("/") ? path : `${DOCS}/${path}`), 6) }),
);

const focusSchema = {
  type: "object",
  properties: {
    focus: { type: "string", description: "What matters to you in this document, e.g. a section, the structure, the tone" },
  },
  required: ["focus"],
} as const;

tool(
  {
    name: "describe",
    description:
      "Describe a Markdown file in the docs folder for the user: asks them what to focus on (elicitation), then, " +
      "when the client offers sampling, has the client's model write a short description. Needs a client that can ask its user",
    inputSchema: {
      type: "object",
      properties: { path: { type: "string", description: "The file, relative to /docs (e.g. `guide.md`)" } },
      required: ["path"],
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  ({ path }, resume) => {
    // Every round reads the file again: a bad path fails before the user is asked anything.
    const facts = documentFacts(fs.readText(path.startsWith("/") ? path : `${DOCS}/${path}`));

    // Round 3: the model's description; the focus came back in the state.
    const focusFromState = resume?.stateText();
    if (resume && focusFromState !== undefined && resume.has("description")) {
      return described(path, focusFromState, facts, resume.sampledText("description"));
    }
    // Round 1 (or a retry without the answer): ask the user.
    if (!resume?.has("focus")) {
      return inputRequired(elicit("focus", `What should the description of ${path} focus on?`, focusSchema));
    }
    // Round 2: the user's answer.
    const chosen = resume.elicited<{ focus: string }>("focus");
    if (!chosen) return `Not described (${resume.action("focus") ?? "no answer"}).`;
    if (typeof chosen.focus !== "string") throw new InvalidArguments("the answer has no text `focus`");
    const focus = chosen.focus.trim() || "everything";
    if (!clientCapabilities().sampling) return described(path, focus, facts);
    const question =
      `Describe the file ${path} in two or three sentences for a reader who cares about ${focus}. ` +
      `What is known about it: ${facts}`;
    return inputRequired(sample("description", question, { maxTokens: 200 }), focus);
  },
);

/** One line about a document: its headings. */
function documentFacts(markdown: string): string {
  const headings = outline(markdown, 6).map((h) => h.text);
  if (headings.length === 0) return "no headings";
  return `${headings.length} heading${headings.length === 1 ? "" : "s"}: ${headings.join(", ")}`;
}

function described(path: string, focus: string, facts: string, modelText?: string): string {
  return [`${path} (focus: ${focus})`, facts, ...(modelText ? [modelText] : [])].join("\n");
}

// ------------------------------------------------------------------------------------------------
// resources and prompt

resourceList(() => {
  if (!fs.exists(DOCS)) return [];
  return fs
    .list(DOCS)
    .filter((e) => e.type === "file" && e.name.endsWith(".md"))
    .map((e) => ({
      uri: `markdown://${encodeURIComponent(e.name)}`,
      name: e.name,
      mimeType: "text/markdown",
      size: fs.stat(`${DOCS}/${e.name}`).size,
      description: title(`${DOCS}/${e.name}`) ?? `The document ${e.name}`,
    }));
});

/** The first heading of a document, if it has one and is readable (listing must not fail on one bad file). */
function title(path: string): string | undefined {
  try {
    return firstHeading(fs.readText(path));
  } catch {
    return undefined;
  }
}

resourceTemplate(
  { uriTemplate: "markdown://{name}", name: "document", mimeType: "text/markdown", description: "A Markdown file in /docs, by file name" },
  ({ name }) => fs.readText(`${DOCS}/${checkName(name)}`),
);

prompt(
  {
    name: "review",
    title: "Review a document",
    description: "Ask the model to review a document in /docs for structure and clarity",
    arguments: [
      { name: "name", description: "The file in /docs, e.g. `guide.md`", required: true },
      { name: "focus", description: "What to pay most attention to (default: structure and clarity)" },
    ],
  },
  ({ name, focus }) => {
    const file = checkName(name);
    const doc = fs.readText(`${DOCS}/${file}`);
    const headings = outline(doc, 6)
      .map((h) => `${"  ".repeat(h.level - 1)}- ${h.text} (line ${h.line})`)
      .join("\n");
    return [
      user(embeddedResource({ uri: `markdown://${encodeURIComponent(file)}`, text: doc, mimeType: "text/markdown" })),
      user(
        `Please review the document ${file} above. Its outline:\n\n${headings}\n\n` +
          `Focus on ${focus ?? "structure and clarity"}. Suggest concrete edits, section by section.`,
      ),
    ];
  },
);

/** The documents in /docs whose name starts with what was typed so far. */
function documentNames(value: string): string[] {
  if (!fs.exists(DOCS)) return [];
  const prefix = value.toLowerCase();
  return fs
    .list(DOCS)
    .filter((e) => e.type === "file" && e.name.endsWith(".md") && e.name.toLowerCase().startsWith(prefix))
    .map((e) => e.name)
    .sort();
}

completion({ prompt: "review", argument: "name" }, documentNames);
completion({ template: "markdown://{name}", argument: "name" }, documentNames);

function checkName(name: string): string {
  if (!name || name.includes("/") || name.includes("\\") || name.startsWith(".")) {
    throw new InvalidArguments(`invalid document name ${JSON.stringify(name)}: give a file in ${DOCS}, e.g. guide.md`);
  }
  return name;
}

// ------------------------------------------------------------------------------------------------
// Markdown

interface Heading {
  level: number;
  text: string;
  line: number;
  anchor: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;

/** The ATX headings outside fenced code blocks. */
function outline(markdown: string, maxLevel: number): Heading[] {
  const out: Heading[] = [];
  const seen = new Map<string, number>();
  let fence: string | undefined;
  markdown.split(/\r?\n/).forEach((line, i) => {
    const f = FENCE.exec(line);
    if (f) {
      if (!fence) fence = f[1][0];
      else if (f[1][0] === fence && f[2].trim() === "") fence = undefined;
      return;
    }
    if (fence) return;
    const h = ATX.exec(line);
    if (!h || h[1].length > maxLevel) return;
    const text = plain(h[2] ?? "");
    let anchor = slug(text);
    const n = seen.get(anchor) ?? 0;
    seen.set(anchor, n + 1);
    if (n > 0) anchor = `${anchor}-${n}`;
    out.push({ level: h[1].length, text, line: i + 1, anchor });
  });
  return out;
}

function firstHeading(markdown: string): string | undefined {
  return outline(markdown, 6)[0]?.text;
}

function section(markdown: string, wanted: string): string {
  const headings = outline(markdown, 6);
  const key = wanted.trim().toLowerCase();
  const index = headings.findIndex((h) => h.text.toLowerCase() === key || h.anchor === key);
  if (index < 0) {
    const known = headings.map((h) => JSON.stringify(h.text)).join(", ") || "none";
    throw new InvalidArguments(`no heading ${JSON.stringify(wanted)} in the document; its headings are ${known}`);
  }
  const start = headings[index];
  const end = headings.slice(index + 1).find((h) => h.level <= start.level);
  const lines = markdown.split(/\r?\n/);
  return lines.slice(start.line - 1, end ? end.line - 1 : lines.length).join("\n").trimEnd();
}

/** GitHub-style anchor: lower case, ASCII punctuation dropped, spaces to dashes. (No `\p{...}`
 * classes: StarlingMonkey is built without the Unicode property tables.) */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\w\s\u0080-\uffff-]/g, "")
    .trim()
    .replace(/\s/g, "-");
}

/** Heading text without inline markup. */
function plain(text: string): string {
  return text
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/(\*\*|__|\*|_|`)/g, "")
    .trim();
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Inline markup: code spans, images, links, autolinks, strong, emphasis. */
function inline(text: string): string {
  const codes: string[] = [];
  let s = text.replace(/(`+)([\s\S]*?[^`])\1(?!`)/g, (_m, _ticks, code: string) => {
    codes.push(`<code>${escapeHtml(code.trim())}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  s = escapeHtml(s);
  s = s.replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, '<img src="$2" alt="$1">');
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
  s = s.replace(/&lt;(https?:\/\/[^\s&]+)&gt;/g, '<a href="$1">$1</a>');
  s = s.replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, "<strong>$2</strong>");
  s = s.replace(/(\*|_)(?=\S)([\s\S]*?\S)\1/g, "<em>$2</em>");
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)]);
}

/** A small block renderer: headings, paragraphs, fenced code, block quotes, lists, rules. */
function render(markdown: string): string {
  const lines = markdown.split(/\r?\n/);
  const html: string[] = [];
  let i = 0;
  const isBlank = (l: string) => l.trim() === "";
  const listItem = /^ {0,3}([-*+]|\d{1,9}[.)])[ \t]+(.*)$/;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const lang = fence[2].trim().split(/\s+/)[0];
      const body: string[] = [];
      for (i++; i < lines.length && !(FENCE.exec(lines[i])?.[1][0] === fence[1][0] && FENCE.exec(lines[i])?.[2].trim() === ""); i++) {
        body.push(lines[i]);
      }
      i++;
      const cls = lang ? ` class="language-${escapeHtml(lang)}"` : "";
      html.push(`<pre><code${cls}>${escapeHtml(body.join("\n"))}\n</code></pre>`);
      continue;
    }
    const h = ATX.exec(line);
    if (h) {
      html.push(`<h${h[1].length} id="${slug(plain(h[2] ?? ""))}">${inline(h[2] ?? "")}</h${h[1].length}>`);
      i++;
      continue;
    }
    if (/^ {0,3}([-*_])( *\1){2,} *$/.test(line)) {
      html.push("<hr>");
      i++;
      continue;
    }
    if (/^ {0,3}>/.test(line)) {
      const quoted: string[] = [];
      for (; i < lines.length && /^ {0,3}>/.test(lines[i]); i++) quoted.push(lines[i].replace(/^ {0,3}> ?/, ""));
      html.push(`<blockquote>\n${render(quoted.join("\n"))}\n</blockquote>`);
      continue;
    }
    const item = listItem.exec(line);
    if (item) {
      const ordered = /\d/.test(item[1]);
      const items: string[] = [];
      for (; i < lines.length; i++) {
        const m = listItem.exec(lines[i]);
        if (m && /\d/.test(m[1]) === ordered) items.push(m[2]);
        else if (!isBlank(lines[i]) && /^\s+\S/.test(lines[i]) && items.length) items[items.length - 1] += ` ${lines[i].trim()}`;
        else break;
      }
      const tag = ordered ? "ol" : "ul";
      html.push(`<${tag}>\n${items.map((t) => `<li>${inline(t)}</li>`).join("\n")}\n</${tag}>`);
      continue;
    }
    const para: string[] = [];
    for (; i < lines.length && !isBlank(lines[i]) && !ATX.test(lines[i]) && !FENCE.test(lines[i]) && !listItem.test(lines[i]) && !/^ {0,3}>/.test(lines[i]); i++) {
      para.push(lines[i].trim());
    }
    html.push(`<p>${inline(para.join("\n"))}</p>`);
  }
  return html.join("\n");
}

export { outline, render, section, slug };
