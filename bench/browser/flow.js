// The browser benchmark's flow driven by Playwright (playwright-core, on
// the same Chromium as seam). Prints one JSON line: the milliseconds of the
// browser's start plus first page, and of each of the 20 actions.
// Usage: node flow.js PLAYWRIGHT_DIR CHROMIUM URL
const [dir, chromium, url] = process.argv.slice(2);
const { chromium: pw } = require(dir + "/node_modules/playwright-core");
(async () => {
  const t0 = performance.now();
  const browser = await pw.launch({
    executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(url);
  const start = performance.now() - t0;
  const steps = [
    ["open", () => page.goto(url)],
    ["select", () => page.selectOption("#sku", "C3")],
    ["fill", () => page.fill("#qty", "2")],
    ["check", () => page.check("#terms")],
    ["click", () => page.click('role=button[name="Place order"]')],
    ["wait", () => page.waitForSelector("#confirmation", { state: "visible" })],
    ["text", () => page.textContent("#confirmation")],
    ["eval", () => page.evaluate("document.title")],
    ["fill", () => page.fill("#qty", "3")],
    ["select", () => page.selectOption("#sku", "A1")],
    ["click", () => page.click("text=Place order")],
    ["wait", () => page.waitForSelector("text=3 × A1")],
    ["hover", () => page.hover("h1")],
    ["press", () => page.press("#qty", "Tab")],
    ["set_storage", () => page.evaluate(() => localStorage.setItem("k", "v"))],
    ["storage", () => page.evaluate(() => ({ ...localStorage }))],
    ["uncheck", () => page.uncheck("#terms")],
    ["count", () => page.locator("option").count()],
    ["screenshot", () => page.screenshot()],
    ["open", () => page.goto(url)],
  ];
  const ms = [];
  for (const [, f] of steps) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  await browser.close();
  console.log(JSON.stringify({ start, ms }));
})().catch(e => { console.error(e); process.exit(1); });
