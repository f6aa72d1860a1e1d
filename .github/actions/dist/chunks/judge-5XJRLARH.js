import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{dd as o,fd as s}from"./chunk-JLLUKHPJ.js";import"./chunk-2VP736JL.js";import"./chunk-XISMU4MD.js";import"./chunk-5UI36ATK.js";import"./chunk-6KABPRLF.js";import"./chunk-LRXP7KT3.js";import"./chunk-5OYEHV4U.js";import"./chunk-7QFQXOCM.js";import"./chunk-X53RC6Y4.js";import"./chunk-THM5NMVE.js";import"./chunk-FO4B22V7.js";import"./chunk-7DHELU36.js";import"./chunk-4MGV2M73.js";import{Lc as r}from"./chunk-KAZGNOUB.js";import"./chunk-O7R5QR6M.js";import"./chunk-I3GPN2KU.js";var u='You grade a conversation between a user and an AI agent against a rubric. Read the rubric, then the conversation (the tools the agent called are listed). Answer with one JSON object and nothing else: {"score": <a number from 0 to 1: how fully the agent meets the rubric>, "reason": "<one sentence>"}.',m=r.object({score:r.number().min(0).max(1),reason:r.string()});function g(n){let e=/\{[\s\S]*\}/.exec(n)?.[0];try{return m.parse(JSON.parse(e??""))}catch{throw new Error(`the judge did not answer {"score": 0..1, "reason": "…"}: ${JSON.stringify(n.slice(0,200))}`)}}function d(n){return n.turns.map(e=>`User (session ${e.session}): ${e.prompt}
`+(e.toolCalls.length?`Agent called: ${e.toolCalls.map(t=>`${t.name} ${JSON.stringify(t.args)}`).join("; ")}
`:"")+`Agent: ${e.answer}`).join(`

`)}function f(n,e=new o({})){return async(t,a)=>{let i=((await e.send(new s({modelId:n,system:[{text:u}],messages:[{role:"user",content:[{text:`Rubric:
${t}

Conversation:
${d(a)}`}]}],inferenceConfig:{maxTokens:300,temperature:0}}))).output?.message?.content??[]).map(c=>c.text??"").join("");return g(i)}}export{f as bedrockJudge,d as conversationText,g as parseVerdict};
