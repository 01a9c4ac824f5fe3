// Open a Home Assistant dashboard in headless Chromium, signed in with a token, and report
// what it shows. Usage:
//   node tests/browser/dashboard.mjs URL TOKEN PATH SCREENSHOT TEXT...
// Waits until every TEXT is visible on the page (shadow DOM included) and the frontend has its
// state translations and entity registry (so states show formatted), saves a full-page
// screenshot, and prints JSON: {"found": [...], "missing": [...], "errors": [...]}.
import { chromium } from "playwright-core";

const [url, token, path, screenshot, ...texts] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = Number(process.env.BROWSER_TIMEOUT_MS || 60000);

const browser = await chromium.launch({
  executablePath,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const result = { found: [], missing: [], errors: [] };
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  // Nothing but the Home Assistant under test may be reached.
  await context.route(
    (requested) => !requested.href.startsWith(url),
    (route) => route.abort(),
  );
  const tokens = {
    hassUrl: url,
    clientId: `${url}/`,
    access_token: token,
    refresh_token: "",
    token_type: "Bearer",
    expires_in: 315360000,
    expires: Date.now() + 315360000 * 1000,
  };
  await context.addInitScript((value) => {
    window.localStorage.setItem("hassTokens", value);
  }, JSON.stringify(tokens));
  const page = await context.newPage();
  page.on("pageerror", (error) => result.errors.push(String(error)));
  await page.goto(`${url}${path}`, { waitUntil: "domcontentloaded", timeout: TIMEOUT });
  const deadline = Date.now() + TIMEOUT;
  for (const text of texts) {
    const left = Math.max(1000, deadline - Date.now());
    try {
      await page.getByText(text).first().waitFor({ state: "visible", timeout: left });
      result.found.push(text);
    } catch {
      result.missing.push(text);
    }
  }
  try {
    await page.waitForFunction(
      () => {
        const hass = document.querySelector("home-assistant")?.hass;
        return (
          hass !== undefined &&
          Object.keys(hass.entities || {}).length > 0 &&
          hass.localize("component.binary_sensor.entity_component._.state.off") !== ""
        );
      },
      undefined,
      { timeout: Math.max(1000, deadline - Date.now()) },
    );
  } catch {
    result.missing.push("(frontend translations and entity registry)");
  }
  // Let charts and gauges finish drawing before the picture.
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
