#!/usr/bin/env node
// Checks the SDK's declared types against a service's OpenAPI document.
//
//   node scripts/drift.mjs openapi.json        (after `npx tsc -p .`)
//
// Every component schema that a request or response body of the API the SDK covers
// (`/api/*`, `/v1/*`) reaches must have an exported type of the same name in the built
// declarations (dist/index.d.ts), or the one ALIASES names, and that type must have every
// property of the schema. A field the API adds and the SDK lacks fails here; fields the SDK
// declares ahead of the API do not. Exit status 1 on drift, with each finding on stderr.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DECLARATIONS = join(ROOT, "dist", "index.d.ts");

/** GETs outside the SDK's JSON surface: a file's bytes, and the live view's redirect. */
const SKIPPED_GETS = new Set(["/v1/files/{token}", "/v1/sessions/{session_id}/live"]);

/** OpenAPI component → SDK type, where the names differ. */
const ALIASES = {};

function reachableSchemas(doc) {
  const seen = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    if (typeof node.$ref === "string") {
      const name = node.$ref.replace("#/components/schemas/", "");
      if (!seen.has(name)) {
        seen.add(name);
        visit(doc.components?.schemas?.[name]);
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "mapping" && value && typeof value === "object") {
        Object.values(value).forEach((ref) => visit({ $ref: ref }));
      } else if (key !== "$ref") {
        visit(value);
      }
    }
  };
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    if (!path.startsWith("/api/") && !path.startsWith("/v1/")) continue;
    for (const [method, operation] of Object.entries(operations)) {
      if (typeof operation !== "object" || operation === null) continue;
      if (method === "get" && SKIPPED_GETS.has(path)) continue;
      visit(operation.requestBody?.content?.["application/json"]?.schema);
      for (const response of Object.values(operation.responses ?? {})) {
        visit(response?.content?.["application/json"]?.schema);
      }
    }
  }
  return seen;
}

function sdkTypes() {
  const program = ts.createProgram([DECLARATIONS], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2022.d.ts", "lib.dom.d.ts"],
    types: [],
    strict: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    const host = {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => "\n",
    };
    throw new Error(ts.formatDiagnostics(diagnostics, host));
  }
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(DECLARATIONS);
  if (!source) throw new Error(`no ${DECLARATIONS}: build the SDK first (npx tsc -p .)`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const types = new Map();
  for (let symbol of checker.getExportsOfModule(moduleSymbol)) {
    const name = symbol.getName();
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    if (!(symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
    const type = checker.getDeclaredTypeOfSymbol(symbol);
    const members = type.isUnion() ? type.types : [type];
    const names = new Set();
    for (const member of members) {
      for (const property of checker.getPropertiesOfType(member)) names.add(property.getName());
    }
    types.set(name, names);
  }
  return types;
}

function main() {
  const documentPath = process.argv[2];
  if (!documentPath) {
    console.error("usage: node scripts/drift.mjs OPENAPI_JSON");
    process.exit(2);
  }
  const doc = JSON.parse(readFileSync(documentPath, "utf8"));
  const types = sdkTypes();
  const findings = [];
  let fields = 0;
  const names = [...reachableSchemas(doc)].sort();
  for (const name of names) {
    const schema = doc.components.schemas[name];
    if (!schema?.properties) continue;
    const sdkName = ALIASES[name] ?? name;
    const sdkProperties = types.get(sdkName);
    if (!sdkProperties) {
      findings.push(`schema ${name}: the SDK exports no type ${sdkName}`);
      continue;
    }
    for (const property of Object.keys(schema.properties)) {
      fields++;
      if (!sdkProperties.has(property)) {
        findings.push(`schema ${name}: field "${property}" is missing from the SDK type ${sdkName}`);
      }
    }
  }
  if (findings.length > 0) {
    console.error(`The SDK's types drifted from the API (${findings.length}):`);
    for (const finding of findings) console.error(`  ${finding}`);
    process.exit(1);
  }
  console.log(`SDK types cover the API: ${names.length} schemas, ${fields} fields checked`);
}

main();
