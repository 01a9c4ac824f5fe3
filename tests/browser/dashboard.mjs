// Open a Home Assistant dashboard in headless Chromium, signed in with a token, and report
// what it shows. Usage:
//   node tests/browser/dashboard.mjs URL TOKEN PATH SCREENSHOT TEXT...
// Waits until every TEXT is visible on the page (shadow DOM included) and the frontend has its
// state translations and entity registry (so states show formatted), saves a full-page
// screenshot, and prints JSON: {"found": [...], "missing": [...], "errors": [...], "charts": [...]}.
// `charts` has each statistics graph card: its title, whether it says it has no statistics,
// whether it drew (a canvas or an svg), and how many points with a value its chart holds.
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
const result = { found: [], missing: [], errors: [], charts: [] };

// Every statistics graph card on the page (through shadow roots), as `charts` reports it.
function statisticsCharts() {
  const deep = (root, selector, found = []) => {
    for (const element of root.querySelectorAll("*")) {
      if (element.matches(selector)) found.push(element);
      if (element.shadowRoot) deep(element.shadowRoot, selector, found);
    }
    return found;
  };
  const hasValue = (point) => {
    const value = Array.isArray(point) ? point : point?.value;
    return Array.isArray(value) ? value[1] !== null && value[1] !== undefined : point != null;
  };
  return deep(document, "hui-statistics-graph-card").map((card) => {
    const charts = card.shadowRoot ? deep(card.shadowRoot, "ha-chart-base") : [];
    return {
      title: card._config?.title ?? null,
      no_statistics: (card.shadowRoot?.textContent ?? "").includes("No statistics found"),
      drawn: charts.some((chart) => chart.shadowRoot?.querySelector("canvas, svg")),
      points: charts
        .flatMap((chart) => chart.data ?? [])
        .reduce((count, series) => count + (series.data ?? []).filter(hasValue).length, 0),
    };
  });
}
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
  await context.addInitScript({ content: `window.lifeopsCharts = ${statisticsCharts};` });
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
  // Charts load their statistics after the page: wait until each has points or says it has none.
  try {
    await page.waitForFunction(
      () =>
        window
          .lifeopsCharts()
          .every((chart) => chart.no_statistics || (chart.drawn && chart.points > 0)),
      undefined,
      { timeout: Math.max(1000, deadline - Date.now()) },
    );
  } catch {
    // Reported as they are below.
  }
  // Let charts and gauges finish drawing before the picture.
  await page.waitForTimeout(1500);
  result.charts = await page.evaluate(() => window.lifeopsCharts());
  await page.screenshot({ path: screenshot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
