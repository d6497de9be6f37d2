import { EXIT_FAILURE, type Command } from './command.js';

// Placeholder until this command is built; owned by whoever builds it.
const command: Command = (_args, io) => {
  io.stderr('history: not built yet\n');
  return Promise.resolve(EXIT_FAILURE);
};
export default command;
