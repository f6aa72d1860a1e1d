import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e}from"./chunk-NTPUIJ3B.js";import"./chunk-JJPPNIVK.js";import"./chunk-AQCLK3CJ.js";import"./chunk-CZWWW2GU.js";import"./chunk-A7HNDAP2.js";import"./chunk-PBTVRRSZ.js";import"./chunk-NPDEOP26.js";import"./chunk-32MR7OFB.js";import"./chunk-3H3PD4EQ.js";import"./chunk-X5773VLT.js";import"./chunk-UHFFJZJX.js";import"./chunk-244MI2NI.js";import"./chunk-I3GPN2KU.js";export{a as imageTags,b as parseImageUri,d as registryId,c as repositoryName,e as retagImage};
