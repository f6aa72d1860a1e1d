import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d}from"./chunk-ZYLSBFYT.js";import"./chunk-I3GPN2KU.js";export{b as checkThresholds,c as compareSuite,d as gate,a as thresholdFor};
