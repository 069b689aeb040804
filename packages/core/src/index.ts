export { version } from '@breakwater/policies';
