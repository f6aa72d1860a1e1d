import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e}from"./chunk-7MG6IKAG.js";import"./chunk-KAZGNOUB.js";import"./chunk-O7R5QR6M.js";import"./chunk-I3GPN2KU.js";export{a as invocationUrl,d as invokeAgent,b as newSessionId,c as runInput,e as summarise};
