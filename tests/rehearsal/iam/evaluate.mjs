// Reads {"account": "...", "policies": {name: <IAM policy>}, "calls": [{action, resource, context}],
// "only": {name: [call index, ...]} (optional: the calls to evaluate for that policy, else all)}
// on stdin; writes {name: [{"index", "result", "errors", "unvalidated"}, ... one per call evaluated]}: iam-simulate's
// decision with that policy as the caller's only identity policy (no SCPs, resource policy or
// boundary). An action the Service Authorization Reference lists without resource types (API
// Gateway's apigateway:GET, POST, ... on resource paths) cannot be validated: it is evaluated
// without validation, and marked so.
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'

let text = ''
for await (const chunk of process.stdin) text += chunk
const input = JSON.parse(text)
const principal = `arn:aws:iam::${input.account}:role/github-deploy`

const out = {}
for (const [name, policy] of Object.entries(input.policies)) {
  out[name] = []
  const indices = input.only?.[name] ?? input.calls.map((_, i) => i)
  for (const index of indices) {
    const call = input.calls[index]
    const simulation = {
      request: {
        principal,
        action: call.action,
        resource: { resource: call.resource, accountId: input.account },
        contextVariables: call.context,
      },
      identityPolicies: [{ name, policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }
    const outcome = await runSimulation(simulation, {})
    if (outcome.resultType !== 'error') {
      out[name].push({ index, result: outcome.overallResult, errors: null, unvalidated: false })
    } else if (outcome.errors.message === 'no.resource.types') {
      out[name].push({ index, result: runUnsafeSimulation(simulation, {}), errors: null, unvalidated: true })
    } else {
      out[name].push({ index, result: 'Error', errors: outcome.errors, unvalidated: false })
    }
  }
}
process.stdout.write(JSON.stringify(out))
