import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-633AGKQ7.js";import"./chunk-23FD7VBL.js";import"./chunk-SP43S32W.js";import"./chunk-4MGV2M73.js";import"./chunk-MQXTFSNY.js";import"./chunk-I3GPN2KU.js";export{b as resourcesFromStackOutputs,a as runtimeSpec};
