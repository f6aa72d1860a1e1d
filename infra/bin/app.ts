// CDK entry point for `npx cdk synth|deploy <stack>` (see cdk.json); `npm run synth` builds the same app in-process.
import { buildApp } from '../src/app';

buildApp().app.synth();
