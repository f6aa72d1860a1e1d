import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e}from"./chunk-BSTVDODX.js";import"./chunk-KOJ6ISTJ.js";import"./chunk-IJ2XGV45.js";import"./chunk-I3GPN2KU.js";export{a as invocationUrl,d as invokeAgent,b as newSessionId,c as runInput,e as summarise};
