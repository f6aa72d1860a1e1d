import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e,f,g}from"./chunk-5UI36ATK.js";import"./chunk-7QFQXOCM.js";import"./chunk-X53RC6Y4.js";import"./chunk-THM5NMVE.js";import"./chunk-FO4B22V7.js";import"./chunk-7DHELU36.js";import"./chunk-I3GPN2KU.js";export{f as ENV_ACCOUNT_ID,e as ENV_CREDENTIAL_SCOPE,d as ENV_EXPIRATION,a as ENV_KEY,b as ENV_SECRET,c as ENV_SESSION,g as fromEnv};
