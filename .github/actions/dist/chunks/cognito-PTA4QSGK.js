import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c}from"./chunk-B7PSEIXD.js";import"./chunk-USY4PYSH.js";import"./chunk-2VP736JL.js";import"./chunk-5UI36ATK.js";import"./chunk-6KABPRLF.js";import"./chunk-LRXP7KT3.js";import"./chunk-5OYEHV4U.js";import"./chunk-7QFQXOCM.js";import"./chunk-X53RC6Y4.js";import"./chunk-THM5NMVE.js";import"./chunk-FO4B22V7.js";import"./chunk-7DHELU36.js";import"./chunk-I3GPN2KU.js";export{b as clientCredentialsToken,c as clientSecret,a as tokenEndpoint};
