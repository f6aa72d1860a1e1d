/** The FAQ bundled with the sample agent: questions teams ask about running it. */
export const FAQ: { question: string; answer: string }[] = [
  {
    question: 'How do I deploy a new version of the agent?',
    answer:
      'Merge to main. The release workflow builds the arm64 image once, deploys it to dev, runs the smoke gates, ' +
      'then promotes the same digest to prod by moving the "live" endpoint.',
  },
  {
    question: 'How do I roll back a bad release?',
    answer:
      'Run the rollback workflow with the environment and a target ("previous", a runtime version or a git sha). ' +
      'Repointing the "live" endpoint to an earlier version takes seconds and rebuilds nothing.',
  },
  {
    question: 'How do I run the agent locally?',
    answer:
      'Run "npm start": it starts the local twin of the AWS APIs and the agent with reload on change, then prints ' +
      'a curl command that streams an answer.',
  },
  {
    question: 'How do I add a tool to the agent?',
    answer:
      'Write one file in agent/src/tools/ that exports a tool (name, description, zod input schema, run function) ' +
      'and add it to the list in agent/src/tools/index.ts.',
  },
  {
    question: 'How do I get a bearer token to call the agent?',
    answer:
      'Use the OAuth client-credentials grant against the Cognito token endpoint with the machine client id and ' +
      'secret, then send the access token as "Authorization: Bearer <token>".',
  },
  {
    question: 'How do I preview a pull request?',
    answer:
      'Open the pull request: the preview workflow deploys a runtime named for it, runs the smoke gates and keeps ' +
      'one comment on the PR up to date with the endpoint and the results. Closing the PR deletes the runtime.',
  },
  {
    question: 'What does the guardrail block?',
    answer:
      'Prompt attacks are blocked on input, and personal data such as e-mail addresses and phone numbers is ' +
      'anonymised or blocked. A blocked request is answered with the guardrail message, not an error.',
  },
  {
    question: 'How does the agent remember conversations?',
    answer:
      'Every turn is written to AgentCore Memory as an event. Facts, preferences and session summaries extracted ' +
      'from them are retrieved before each model call, and a restarted container rebuilds the session from its events.',
  },
  {
    question: 'How do I change the model?',
    answer:
      'Set MODEL_ID (and BACKGROUND_MODEL_ID for classification and summaries) in the environment file; the ' +
      'pipeline passes them to the runtime as environment variables.',
  },
  {
    question: 'Where are the logs and metrics?',
    answer:
      'Logs are JSON lines in the runtime log group /aws/bedrock-agentcore/runtimes/<runtimeId>-<endpoint>. ' +
      'Token, cache, latency and guardrail metrics are embedded-metric-format lines in the same log group.',
  },
];
