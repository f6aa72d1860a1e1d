import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-VNVANJGS.js";import"./chunk-NGYEF7RE.js";import"./chunk-KK7FIFKZ.js";import"./chunk-VWLZYQUK.js";import"./chunk-PSSW6YHE.js";import"./chunk-I3GPN2KU.js";export{b as resourcesFromStackOutputs,a as runtimeSpec};
