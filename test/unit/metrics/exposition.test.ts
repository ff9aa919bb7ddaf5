// The /metrics render cache: one render per max age, shared by concurrent scrapes, errors not kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ExpositionCache } from "../../../src/metrics/exposition.ts";

function fakeRegistry() {
  const r = { renders: 0, fail: false, release: [] as (() => void)[],
    metrics(): Promise<string> {
      const n = ++r.renders;
      return new Promise((resolve, reject) => r.release.push(() => (r.fail ? reject(new Error("collect failed")) : resolve(`render ${n}`))));
    } };
  return r;
}

test("scrapes during a render share it; within the max age they get its text synchronously", async () => {
  const reg = fakeRegistry();
  let now = 0;
  const cache = new ExpositionCache(reg, 1000, () => now);
  const a = cache.get(), b = cache.get();
  assert.ok(a instanceof Promise);
  assert.equal(a, b);
  assert.equal(reg.renders, 1);
  reg.release.shift()!();
  assert.equal(await a, "render 1");
  now = 999;
  assert.equal(cache.get(), "render 1");
  assert.equal(reg.renders, 1);
  now = 1000; // the age counts from the start of the render: stale, served while a new one runs
  assert.equal(cache.get(), "render 1");
  assert.equal(cache.get(), "render 1");
  assert.equal(reg.renders, 2, "one background render");
  reg.release.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.get(), "render 2");
  now = 1000 + 2000; // render 2 started at 1000: too old to serve, the scrape waits
  const c = cache.get();
  assert.ok(c instanceof Promise);
  reg.release.shift()!();
  assert.equal(await c, "render 3");
});

test("a failed render reaches its callers and is not kept; max age 0 renders every time", async () => {
  const reg = fakeRegistry();
  const cache = new ExpositionCache(reg, 0, () => 0);
  reg.fail = true;
  const a = cache.get();
  reg.release.shift()!();
  await assert.rejects(a as Promise<string>, /collect failed/);
  reg.fail = false;
  const b = cache.get();
  assert.notEqual(a, b);
  reg.release.shift()!();
  assert.equal(await b, "render 2");
  const c = cache.get();
  assert.ok(c instanceof Promise);
  reg.release.shift()!();
  assert.equal(await c, "render 3");
});
