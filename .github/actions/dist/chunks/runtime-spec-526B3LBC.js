import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-5AVSV5OX.js";import"./chunk-D7AT3NZL.js";import"./chunk-SP43S32W.js";import"./chunk-4MGV2M73.js";import"./chunk-MQXTFSNY.js";import"./chunk-I3GPN2KU.js";export{b as resourcesFromStackOutputs,a as runtimeSpec};
