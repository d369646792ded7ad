// Production code (bench/) needs it too, and nothing outside test/ imports test/.
export { freePort } from '../../lib/ports';
