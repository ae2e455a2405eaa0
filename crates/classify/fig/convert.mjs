// Converts the option grammar of command-line tools from the @withfig/autocomplete specs (MIT
// licence, see LICENSE beside this file) into `options.json`, which build.rs embeds.
//
// Only what the classifier's option parser needs is kept: per tool and per subcommand path, the
// options that take a value (so that `docker run -v vol:/data img` reads `vol:/data` as -v's value,
// not as the image), and whether the tool's single-dash options are long words (`find -name`)
// rather than clusters of letters.
//
// Regenerate:  cd /tmp && npm pack @withfig/autocomplete && tar xzf withfig-autocomplete-*.tgz
//              node crates/classify/fig/convert.mjs /tmp/package/build crates/classify/fig/tools.txt \
//                   > crates/classify/fig/options.json
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [buildDir, listFile] = process.argv.slice(2);
const tools = readFileSync(listFile, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));

const names = (n) => (Array.isArray(n) ? n : [n]).filter((x) => typeof x === "string");
const argsOf = (a) => (a == null ? [] : Array.isArray(a) ? a : [a]);
// An option takes a value when it has an argument that is neither optional (`--color[=WHEN]`)
// nor variadic (`git branch -d BRANCH…` lists positionals, it has no value of its own).
const takesValue = (o) => {
  const args = argsOf(o.args);
  return args.length > 0 && args.every((a) => a && !a.isOptional && !a.isVariadic);
};

async function load(spec) {
  try {
    const m = await import(pathToFileURL(path.join(buildDir, spec + ".js")).href);
    let s = m.default;
    if (typeof s === "function") s = s();
    return s && typeof s === "object" ? s : null;
  } catch {
    return null;
  }
}

// Returns {o: [value options], s: {sub: node}, p: [persistent value options]} or null when empty.
async function node(spec, depth) {
  if (!spec || depth > 6) return null;
  if (spec.loadSpec && typeof spec.loadSpec === "string" && !spec.subcommands && !spec.options) {
    spec = { ...spec, ...(await load(spec.loadSpec)) };
  }
  const out = {};
  const value = [], persistent = [];
  for (const o of spec.options || []) {
    if (!takesValue(o)) continue;
    for (const n of names(o.name)) (o.isPersistent ? persistent : value).push(n);
  }
  if (value.length) out.o = [...new Set(value)].sort();
  if (persistent.length) out.p = [...new Set(persistent)].sort();
  const subs = {};
  for (const sc of spec.subcommands || []) {
    const child = await node(sc, depth + 1);
    if (!child) continue;
    for (const n of names(sc.name)) subs[n] = child;
  }
  if (Object.keys(subs).length) out.s = subs;
  if (spec.parserDirectives && spec.parserDirectives.flagsArePosixNoncompliant) out.nc = 1;
  return Object.keys(out).length ? out : null;
}

const result = {};
for (const t of tools) {
  const spec = await load(t);
  const n = spec && (await node(spec, 0));
  if (n) result[t] = n;
}
process.stdout.write(JSON.stringify(result) + "\n");
