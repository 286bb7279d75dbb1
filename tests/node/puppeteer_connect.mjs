// Puppeteer connects to a session's CDP endpoint, loads a page on the session's own
// page and prints, as JSON, the URL that page showed first and the new title
// (tests/e2e/test_connect.py).
import puppeteer from "puppeteer-core";

const [endpoint, target] = process.argv.slice(2);
const browser = await puppeteer.connect({ browserWSEndpoint: endpoint, defaultViewport: null });
const [page] = await browser.pages();
const before = page.url();
await page.goto(target);
const title = await page.title();
await browser.disconnect();
console.log(JSON.stringify({ before, title }));
