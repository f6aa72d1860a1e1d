import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e,f,g}from"./chunk-CZWWW2GU.js";import"./chunk-32MR7OFB.js";import"./chunk-3H3PD4EQ.js";import"./chunk-X5773VLT.js";import"./chunk-UHFFJZJX.js";import"./chunk-244MI2NI.js";import"./chunk-I3GPN2KU.js";export{f as ENV_ACCOUNT_ID,e as ENV_CREDENTIAL_SCOPE,d as ENV_EXPIRATION,a as ENV_KEY,b as ENV_SECRET,c as ENV_SESSION,g as fromEnv};
