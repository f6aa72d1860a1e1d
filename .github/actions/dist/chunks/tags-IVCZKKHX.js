import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e}from"./chunk-SFAGVPO5.js";import"./chunk-UBJTOLGK.js";import"./chunk-2IM2Q5KM.js";import"./chunk-4XMKACUT.js";import"./chunk-BAY5WO2V.js";import"./chunk-VD4ARW4Q.js";import"./chunk-V55Y7RSW.js";import"./chunk-DXA6VAKA.js";import"./chunk-BZQYP4KT.js";import"./chunk-E5CW3WZ3.js";import"./chunk-ERHW2TAZ.js";import"./chunk-JDFZQTTR.js";import"./chunk-I3GPN2KU.js";export{a as imageTags,b as parseImageUri,d as registryId,c as repositoryName,e as retagImage};
