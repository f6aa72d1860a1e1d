import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-VBKOSLSL.js";import"./chunk-3P2IYOZR.js";import"./chunk-O7R5QR6M.js";import"./chunk-I3GPN2KU.js";export{a as priceRun,b as smokeCostMarkdown};
