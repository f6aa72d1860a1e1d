import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c}from"./chunk-U42SWYYT.js";import"./chunk-YV27PKH7.js";import"./chunk-AQCLK3CJ.js";import"./chunk-CZWWW2GU.js";import"./chunk-A7HNDAP2.js";import"./chunk-PBTVRRSZ.js";import"./chunk-NPDEOP26.js";import"./chunk-32MR7OFB.js";import"./chunk-3H3PD4EQ.js";import"./chunk-X5773VLT.js";import"./chunk-UHFFJZJX.js";import"./chunk-244MI2NI.js";import"./chunk-I3GPN2KU.js";export{b as clientCredentialsToken,c as clientSecret,a as tokenEndpoint};
