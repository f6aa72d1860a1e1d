import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-6QK6WYRH.js";import"./chunk-YXXED4LN.js";import"./chunk-K25QU72U.js";import"./chunk-IJ2XGV45.js";import"./chunk-I3GPN2KU.js";export{b as resourcesFromStackOutputs,a as runtimeSpec};
