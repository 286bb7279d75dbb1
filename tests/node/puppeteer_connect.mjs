// Puppeteer connects to a session's CDP endpoint, loads a page on the session's own
// page and prints its title as JSON (tests/e2e/test_connect.py).
import puppeteer from "puppeteer-core";

const [endpoint, target] = process.argv.slice(2);
const browser = await puppeteer.connect({ browserWSEndpoint: endpoint, defaultViewport: null });
const [page] = await browser.pages();
await page.goto(target);
const title = await page.title();
await browser.disconnect();
console.log(JSON.stringify({ title }));
