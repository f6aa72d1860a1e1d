import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{dd as o,fd as s}from"./chunk-5SQMCKTC.js";import"./chunk-AQCLK3CJ.js";import"./chunk-NCZRKGYS.js";import"./chunk-CZWWW2GU.js";import"./chunk-A7HNDAP2.js";import"./chunk-PBTVRRSZ.js";import"./chunk-NPDEOP26.js";import"./chunk-32MR7OFB.js";import"./chunk-3H3PD4EQ.js";import"./chunk-X5773VLT.js";import"./chunk-UHFFJZJX.js";import"./chunk-244MI2NI.js";import"./chunk-VWLZYQUK.js";import{Lc as r}from"./chunk-KOJ6ISTJ.js";import"./chunk-IJ2XGV45.js";import"./chunk-I3GPN2KU.js";var u='You grade a conversation between a user and an AI agent against a rubric. Read the rubric, then the conversation (the tools the agent called are listed). Answer with one JSON object and nothing else: {"score": <a number from 0 to 1: how fully the agent meets the rubric>, "reason": "<one sentence>"}.',m=r.object({score:r.number().min(0).max(1),reason:r.string()});function g(n){let e=/\{[\s\S]*\}/.exec(n)?.[0];try{return m.parse(JSON.parse(e??""))}catch{throw new Error(`the judge did not answer {"score": 0..1, "reason": "…"}: ${JSON.stringify(n.slice(0,200))}`)}}function d(n){return n.turns.map(e=>`User (session ${e.session}): ${e.prompt}
`+(e.toolCalls.length?`Agent called: ${e.toolCalls.map(t=>`${t.name} ${JSON.stringify(t.args)}`).join("; ")}
`:"")+`Agent: ${e.answer}`).join(`

`)}function f(n,e=new o({})){return async(t,a)=>{let i=((await e.send(new s({modelId:n,system:[{text:u}],messages:[{role:"user",content:[{text:`Rubric:
${t}

Conversation:
${d(a)}`}]}],inferenceConfig:{maxTokens:300,temperature:0}}))).output?.message?.content??[]).map(c=>c.text??"").join("");return g(i)}}export{f as bedrockJudge,d as conversationText,g as parseVerdict};
