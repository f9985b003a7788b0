// gen.mjs MODEL.gguf PROMPT N - greedy completion with llama.cpp through
// node-llama-cpp's prebuilt CPU binaries (never builds llama.cpp itself);
// prints the prompt followed by the completion.
import {getLlama, LlamaCompletion} from "node-llama-cpp";

const [modelPath, prompt, n] = process.argv.slice(2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 256});
const completion = new LlamaCompletion({contextSequence: context.getSequence()});
const text = await completion.generateCompletion(prompt, {maxTokens: Number(n), temperature: 0});
process.stdout.write(prompt + text + "\n");
