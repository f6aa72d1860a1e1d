import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e,f,g}from"./chunk-4XMKACUT.js";import"./chunk-DXA6VAKA.js";import"./chunk-BZQYP4KT.js";import"./chunk-E5CW3WZ3.js";import"./chunk-ERHW2TAZ.js";import"./chunk-JDFZQTTR.js";import"./chunk-I3GPN2KU.js";export{f as ENV_ACCOUNT_ID,e as ENV_CREDENTIAL_SCOPE,d as ENV_EXPIRATION,a as ENV_KEY,b as ENV_SECRET,c as ENV_SESSION,g as fromEnv};
