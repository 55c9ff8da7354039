// Validates Kubernetes objects against the Kubernetes OpenAPI schema, as compiled by the npm package
// kubernetes-models (ci/install-deps pins it), and refuses fields the schema does not know, as
// `kubectl apply` does with its strict field validation (the schema itself allows them).
// Usage: node k8s_validate.mjs NODE_MODULES_ROOT < objects.json  (a JSON array of objects)
// Prints one line per error and exits 1 when there is any.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = process.argv[2];
const objects = JSON.parse(readFileSync(0, "utf8"));

// batch/v1 CronJob -> IoK8sApiBatchV1CronJob; v1 Secret -> IoK8sApiCoreV1Secret
function schemaName(apiVersion, kind) {
	const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
	const g = group.split(".")[0];
	const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
	return "IoK8sApi" + cap(g) + cap(version) + kind;
}

// The compiled validator reads each property its schema declares; a key it never read is unknown to it.
function tracked(value, seen) {
	if (value === null || typeof value !== "object") return value;
	const keys = new Set();
	seen.set(value, keys);
	const children = new Map();
	return new Proxy(value, {
		get(t, k) {
			if (typeof k === "string") keys.add(k);
			const v = Reflect.get(t, k);
			if (v === null || typeof v !== "object") return v;
			if (!children.has(k)) children.set(k, tracked(v, seen));
			return children.get(k);
		},
		has(t, k) {
			if (typeof k === "string") keys.add(k);
			return Reflect.has(t, k);
		},
		ownKeys(t) {
			for (const k of Reflect.ownKeys(t)) if (typeof k === "string") keys.add(k);
			return Reflect.ownKeys(t);
		},
	});
}

function unknownFields(value, seen, where, out) {
	if (value === null || typeof value !== "object") return;
	const keys = seen.get(value);
	if (!keys) return;
	for (const k of Object.keys(value)) {
		const at = Array.isArray(value) ? `${where}[${k}]` : `${where}.${k}`;
		if (!keys.has(k)) out.push(`${at}: unknown field "${k}"`);
		else unknownFields(value[k], seen, at, out);
	}
}

// Some compiled validators carry no messages: say it from the keyword, as ajv words it.
function message(e) {
	if (e.message) return e.message;
	const p = e.params || {};
	if (e.keyword === "type") return `must be ${p.type}`;
	if (e.keyword === "enum") return `must be equal to one of the allowed values (${(p.allowedValues || []).join(", ")})`;
	if (e.keyword === "required") return `must have required property '${p.missingProperty}'`;
	return `${e.keyword} ${JSON.stringify(p)}`;
}

let errors = 0;
for (const obj of objects) {
	const name = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
	const file = path.join(root, "kubernetes-models", "_schemas", schemaName(obj.apiVersion || "", obj.kind || "") + ".js");
	let validate;
	try {
		({ validate } = await import(pathToFileURL(file).href));
	} catch (e) {
		console.log(`${name}: no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`);
		errors++;
		continue;
	}
	const seen = new WeakMap();
	const ok = validate(tracked(obj, seen));
	for (const e of ok ? [] : validate.errors) {
		console.log(`${name}: ${e.instancePath || "/"} ${message(e)}`);
		errors++;
	}
	const unknown = [];
	unknownFields(obj, seen, "", unknown);
	for (const u of unknown) {
		console.log(`${name}: ${u}`);
		errors++;
	}
	if (ok && !unknown.length) console.log(`${name}: valid`);
}
process.exit(errors ? 1 : 0);
