import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-B42VJCGG.js";import"./chunk-K25QU72U.js";import"./chunk-IJ2XGV45.js";import"./chunk-I3GPN2KU.js";export{a as priceRun,b as smokeCostMarkdown};
