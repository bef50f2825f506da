// Renders Allure 3 reports for the harness, one after another in one Node process.
//
// Each request takes the steps `allure generate` takes (readConfig, then AllureReport's
// restoreState / start / readDirectory / done), without loading the CLI's other commands each
// time: loading them was ~0.8 s of CPU per report, rendering one gate's report ~0.1 s.
// One JSON request per line on stdin ({cwd, config, results}); one answer per line on stdout,
// after a marker, so nothing a plugin prints can be taken for an answer; console output goes to
// stderr. The process ends when stdin closes, so it never outlives the harness that started it.
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const ANSWER = "@@harness-allure ";
const project = process.argv[2];
const answer = (value) => process.stdout.write(ANSWER + JSON.stringify(value) + "\n");
console.log = console.info = console.debug = (...args) => console.error(...args);

const core = await import(
  pathToFileURL(join(project, "node_modules", "@allurereport", "core", "dist", "index.js")).href);
answer({ ready: true });

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  try {
    const job = JSON.parse(line);
    process.chdir(job.cwd);            // as `allure generate` ran in the staging folder
    const config = await core.readConfig(job.cwd, job.config, {});
    const report = new core.AllureReport(config);
    await report.restoreState([]);
    await report.start();
    await report.readDirectory(job.results);
    await report.done();
    answer({ ok: true });
  } catch (error) {
    answer({ ok: false, error: String(error?.message ?? error).split("\n")[0] });
  } finally {
    process.chdir(project);
  }
}
