// Drives headless Chromium for crates/cli/tests/web.rs: one JSON command per stdin line, one JSON
// answer per stdout line. Each operator gets a browser context of their own with a CDP virtual
// authenticator (CTAP2, internal, resident keys, user verification), so passkeys are real
// WebAuthn ceremonies the server checks.
"use strict";

const readline = require("readline");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const contexts = new Map();
let browser;

async function launch() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    chromiumSandbox: false,
    // Without these Chromium phones home on start and fails noisily offline.
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

async function context(name, width) {
  if (contexts.has(name)) return contexts.get(name);
  const ctx = await browser.newContext({ viewport: { width: width || 1000, height: 900 } });
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const entry = { ctx, page, cdp, authenticatorId };
  contexts.set(name, entry);
  return entry;
}

async function text(page) {
  return { url: page.url(), text: await page.locator("body").innerText() };
}

const commands = {
  async context({ name, width }) {
    await context(name, width);
    return {};
  },
  async goto({ ctx, url }) {
    const { page } = await context(ctx);
    const response = await page.goto(url);
    return { status: response ? response.status() : 0, ...(await text(page)) };
  },
  async enroll({ ctx, url, code }) {
    const { page } = await context(ctx);
    await page.goto(url);
    await page.fill("#code", code);
    await Promise.all([page.waitForURL((u) => u.pathname === "/", { timeout: 15000 }), page.click("#enroll button")]);
    return text(page);
  },
  async signin({ ctx, url }) {
    const { page } = await context(ctx);
    await page.goto(url);
    if (new URL(page.url()).pathname === "/login") {
      await Promise.all([
        page.waitForURL((u) => u.pathname !== "/login", { timeout: 15000 }),
        page.click("#signin button"),
      ]);
    }
    return text(page);
  },
  async waitText({ ctx, selector, value, timeout }) {
    const { page } = await context(ctx);
    const started = Date.now();
    await page.locator(selector, { hasText: value }).first().waitFor({ timeout: timeout || 10000 });
    return { waitedMs: Date.now() - started, ...(await text(page)) };
  },
  async decide({ ctx, id, button, reason, acknowledge }) {
    const { page } = await context(ctx);
    const form = `form[action="/actions/${id}/${button}"]`;
    if (new URL(page.url()).pathname !== `/actions/${id}`) await page.goto(new URL(`/actions/${id}`, page.url()).href);
    await page.fill(`${form} textarea`, reason || "");
    if (acknowledge) await page.check(`${form} input[name=without_snapshot]`);
    const [response] = await Promise.all([page.waitForNavigation(), page.click(`${form} button`)]);
    return { status: response ? response.status() : 0, ...(await text(page)) };
  },
  async click({ ctx, selector }) {
    const { page } = await context(ctx);
    await page.click(selector);
    return text(page);
  },
  async cookie({ ctx }) {
    const { ctx: c } = await context(ctx);
    const cookies = await c.cookies();
    const session = cookies.find((k) => k.name.endsWith("airlock_session"));
    return { name: session && session.name, value: session && session.value, csrf: await csrf(ctx) };
  },
  async screenshot({ ctx, path, width }) {
    const { page } = await context(ctx);
    if (width) await page.setViewportSize({ width, height: 844 });
    await page.screenshot({ path, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    return { overflow };
  },
  async credentials({ ctx }) {
    const { cdp, authenticatorId } = await context(ctx);
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    return { count: credentials.length, signCounts: credentials.map((c) => c.signCount) };
  },
  async close() {
    await browser.close();
    return {};
  },
};

async function csrf(name) {
  const { page } = await context(name);
  return page.evaluate(() => {
    const input = document.querySelector("input[name=csrf]");
    return input ? input.value : null;
  });
}

async function main() {
  await launch();
  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    let answer;
    try {
      const command = JSON.parse(line);
      answer = { ok: true, ...(await commands[command.cmd](command)) };
    } catch (e) {
      answer = { ok: false, error: String(e && e.stack ? e.stack : e) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  }
  if (browser) await browser.close();
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(e) }) + "\n");
  process.exit(1);
});
