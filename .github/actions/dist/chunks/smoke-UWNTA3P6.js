import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-MXPIVLZI.js";import"./chunk-SP43S32W.js";import"./chunk-4MGV2M73.js";import"./chunk-MQXTFSNY.js";import"./chunk-I3GPN2KU.js";export{a as priceRun,b as smokeCostMarkdown};
