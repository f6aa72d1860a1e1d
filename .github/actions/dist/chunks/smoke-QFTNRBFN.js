import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-63S3VJ3V.js";import"./chunk-KK7FIFKZ.js";import"./chunk-VWLZYQUK.js";import"./chunk-PSSW6YHE.js";import"./chunk-I3GPN2KU.js";export{a as priceRun,b as smokeCostMarkdown};
