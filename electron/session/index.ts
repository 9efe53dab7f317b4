export * from './working-patient';
